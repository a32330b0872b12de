/*
 * Reading HotSpot's own metadata in this process through the VMStructs tables libjvm exports
 * (gHotSpotVMStructs, gHotSpotVMTypes): field offsets are looked up by name, never hard-coded.
 * Every read of JVM memory goes through process_vm_readv on this process, so a bad pointer fails
 * the read instead of crashing the JVM.
 */
#ifndef MEMLEAK4J_JVM_VMSTRUCTS_H
#define MEMLEAK4J_JVM_VMSTRUCTS_H

#include <jni.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Finds libjvm (from the address of a JNI function) and the offsets needed. Idempotent, thread-safe.
 * Returns 0, or -1 with a message in err. */
int vmstructs_init(JNIEnv *env, char *err, size_t err_len);

/* Writes "pkg.Class.method" (modified UTF-8, NUL-terminated) for a HotSpot Method*, after checking that the
 * pointer really leads to a method of a loaded class. Returns the length, or -1 when it cannot be resolved. */
int vmstructs_resolve_method(uintptr_t method, char *out, size_t out_len);

/* What else naming an interpreted frame needs of its Method*. */
struct vm_method {
    int code_size;        /* the length of its bytecodes (0 for a native or abstract method) */
    uintptr_t jmethod_id; /* its jmethodID from the class's cache, 0 when HotSpot made none yet */
};

/* vmstructs_resolve_method, filling facts (when not NULL) as well, from the same reads. */
int vmstructs_describe_method(uintptr_t method, char *out, size_t out_len, struct vm_method *facts);

/*
 * As vmstructs_describe_method, for a Method* read from a live nmethod's metadata: its holder need not know it, as
 * for the methods HotSpot makes itself (method handle intrinsics such as MethodHandle.linkToNative), which are in no
 * class's method array. The rest of the chain is checked all the same.
 */
int vmstructs_describe_compiled_method(uintptr_t method, char *out, size_t out_len, struct vm_method *facts);

/* The interpreter's code range (AbstractInterpreter::_code's buffer). Returns 0, or -1 when unknown. */
int vmstructs_interpreter_range(uintptr_t *start, uintptr_t *end);

/* Runs init once under lock (ready: 0 not yet, 1 done, -1 failed with its message in error). Returns 0, or -1 with
 * the message copied to err. For this file's and other readers' one-time set-up. */
int vmstructs_init_once(pthread_mutex_t *lock, int *ready, int (*init)(JNIEnv *), JNIEnv *env, const char *error,
                        char *err, size_t err_len);
/* Look-ups for other readers of JVM memory (after a successful vmstructs_init): a field's offset (non-static)
 * or address (static), a type's size, an integer constant. Each returns 0, or -1 when this JVM does not have it. */
int vmstructs_field(const char *type, const char *field, long *offset, uintptr_t *address);
/*
 * libjvm's file (for readers of its symbol table) and the address of its exported gHotSpotVMStructs here, which with
 * that symbol's value in the file gives where the file is loaded. 0, or -1 when libjvm is not found.
 */
int vmstructs_libjvm(JNIEnv *env, char *path, size_t path_len, uintptr_t *vmstructs_at);
int vmstructs_type_size(const char *type, long *size);
int vmstructs_int_constant(const char *name, int32_t *value);
/*
 * Sets the boolean VM flag name to value and its origin to ergonomic (the agent chose it) when the flag is still at its
 * default origin: HotSpot then treats it as set. Returns 1 when set, 0 when left alone (someone set it already: the
 * command line, a management call), -1 when this JVM does not offer what it takes (why, in why).
 */
int vmstructs_set_default_bool_flag(const char *name, int value, char *why, size_t why_len);
/* Reads len bytes at addr in this process without faulting: 0 on success, -1 when not readable. */
int safe_read(void *dst, uintptr_t addr, size_t len);
/*
 * A pass of reads (a report): until safe_read_pass_end, this thread's safe_reads go through a cache of whole pages
 * (see jvm_vmstructs.c for what that assumes). Returns 1 when the pass began, 0 when this thread reads uncached (another
 * thread is in a pass, or no memory for the cache). safe_read_pass_forget empties the cache after the agent changed
 * what it may hold (JVMTI made a class's jmethodIDs).
 */
int safe_read_pass_begin(void);
void safe_read_pass_forget(void);
void safe_read_pass_end(void);

#endif
