/*
 * A live map of the JVM's generated code, kept from JVMTI events (CompiledMethodLoad/Unload,
 * DynamicCodeGenerated, replayed with GenerateEvents for code that existed before), so that an
 * instruction address in JIT-compiled code or a JVM stub can be named in this process.
 */
#ifndef MEMLEAK4J_JVM_CODE_MAP_H
#define MEMLEAK4J_JVM_CODE_MAP_H

#include <jni.h>
#include <stddef.h>
#include <stdint.h>

enum code_frame_kind {
    CODE_FRAME_JIT = 0,     /* the compiled method itself (outermost frame at this PC) */
    CODE_FRAME_INLINED = 1, /* a method inlined into it */
    CODE_FRAME_STUB = 2,    /* a named piece of generated code (interpreter, call stub, adapters...) */
    CODE_FRAME_NATIVE_WRAPPER = 3, /* the compiled wrapper of a Java native method (JNI call) */
};

struct code_frame {
    int kind;                /* enum code_frame_kind */
    int line;                /* source line, or -1 when unknown */
    const char *class_name;  /* "pkg.Class" (modified UTF-8); NULL for a stub */
    const char *name;        /* method name, or the stub's name */
    const char *source_file; /* "Foo.java", or NULL when unknown */
};

/* Starts the map once per process: JVMTI environment, capabilities, callbacks, replay of existing code; compiled code
 * from JVMTI's CompiledMethodLoad when jvmti_only or when VMStructs cannot name it from the nmethods.
 * Returns 0, or -1 with a message in err. Thread-safe; a second call returns 0 at once. */
int jvm_code_map_start(JNIEnv *env, int jvmti_only, char *err, size_t err_len);

/* How compiled frames are named (a line for verbose output); empty before jvm_code_map_start. */
const char *jvm_code_map_naming(void);

/* Whether jvm_code_map_start succeeded. */
int jvm_code_map_started(void);

/* Fills frames (innermost first) for an address in generated code; returns how many (at most max),
 * 0 when the address is in no known code. The strings stay valid for the life of the process. jni: the calling
 * thread's, for the jmethodIDs JVMTI may have to make (NULL: methods without one are not named). */
int jvm_code_map_lookup(JNIEnv *jni, uintptr_t pc, struct code_frame *frames, int max);

/*
 * What pc is without naming it: 1 compiled Java code, 2 a stub, 0 neither, -1 when compiled code is not named from
 * nmethods (then only a lookup tells). The classes of its methods that have no jmethodIDs yet are remembered, so that
 * the first lookup that needs one makes them for all those classes in one pass over the loaded classes.
 */
int jvm_code_map_classify(uintptr_t pc);

/* The range of the interpreter's code as announced by DynamicCodeGenerated ("Interpreter"); 0 when not seen. */
int jvm_code_map_interpreter(uintptr_t *start, uintptr_t *end);

/* Most frames jvm_code_map_capture returns. */
#define JVM_CODE_MAP_MAX_CAPTURE 256

/*
 * The calling thread's Java frames (JVMTI GetStackTrace), innermost first: jmethodIDs and bytecode indexes (-1 for a
 * native method). Returns how many, or -1 when the map has no JVMTI environment.
 */
int jvm_code_map_capture(int max, uint64_t *methods, int64_t *locations);

/* Garbage collections finished since the map started (JVMTI GarbageCollectionFinish), or -1 when this JVM does
 * not deliver the event. Classes are unloaded only in a collection: a Method* seen before an increase may be gone. */
int64_t jvm_code_map_gc_count(void);
/* Names a captured frame (class, method, source file, line of the bytecode index); -1 when JVMTI cannot tell. */
int jvm_code_map_describe(uint64_t method, int64_t location, struct code_frame *out);

/* Live code ranges ([start, end) pairs) of the compiled method named "pkg.Class.method": at most max pairs. */
int jvm_code_map_ranges_of(const char *qualified_name, uintptr_t *out, int max);

/* Counters: [0] live compiled methods, [1] stubs, [2] loads seen, [3] unloads seen, [4] bytes mapped for the map,
 * [5] generation (bumped whenever code is removed or replaced: cached names of code addresses may be stale). */
void jvm_code_map_stats(uint64_t out[6]);

/* The generation alone (stats [5]): read before every cached name is used. */
uint64_t jvm_code_map_generation(void);

/* A line number table's entry: the line that starts at bytecode index bci. */
struct line_entry {
    int32_t bci;
    int32_t line;
};

/*
 * All that names an interpreted frame's method (a HotSpot Method*), with one resolution for all its bytecode indexes:
 * "pkg.Class.method" in name (as vmstructs_resolve_method), the length of its bytecodes in code_size, and its line
 * number table from JVMTI as for compiled frames in lines (valid for the life of the process; none, line_count 0,
 * when unknown; not looked for when lines is NULL). May ask JVMTI for the jmethodIDs of the method's class first.
 * Returns the name's length, or -1 when the method cannot be named (then nothing else is known either).
 */
int jvm_code_map_interpreted_method(JNIEnv *jni, uintptr_t method, char *name, size_t name_len, int *code_size,
                                    const struct line_entry **lines, uint32_t *line_count);

#endif
