/*
 * What HotSpot's own debug information says of a return address in JIT-compiled code, read from the nmethod that
 * holds it through VMStructs: the methods of its scopes (inlined ones first) and their bytecode indexes. Names compiled
 * frames without JVMTI's CompiledMethodLoad, whose events make HotSpot record more debug information in every compile.
 */
#ifndef MEMLEAK4J_JVM_NMETHOD_H
#define MEMLEAK4J_JVM_NMETHOD_H

#include <jni.h>
#include <stddef.h>
#include <stdint.h>

/* A compiled method, as one lookup found it: the identity that tells whether it is still there. */
struct nmethod_ref {
    uintptr_t blob;     /* its address in the code heap */
    int32_t compile_id; /* unique per compilation: another nmethod at the same address has another */
    uintptr_t mark;     /* its block's entry in the code heap's segment map */
    uintptr_t method;   /* its Method* */
    int native;         /* the compiled wrapper of a native method */
};

/* One scope at a return address: a method and the bytecode index of the call in it (-1 when unknown). */
struct nmethod_scope {
    uintptr_t method;
    int32_t bci;
};

/* Finds what the reads need (after jvm_frame_walk_init). Returns 0, or -1 with the reason in err. Idempotent. */
int jvm_nmethod_init(JNIEnv *env, char *err, size_t err_len);

/*
 * The scopes at return address pc, innermost first, at most max; the nmethod in *ref. Returns how many, 0 when pc is in
 * an nmethod whose scopes at pc are unknown (a native wrapper, no descriptor: then ref->method names it), -1 when pc is
 * in no nmethod or what was read does not hold together (an nmethod flushed meanwhile).
 */
int jvm_nmethod_scopes(uintptr_t pc, struct nmethod_scope *out, int max, struct nmethod_ref *ref);

/* Whether the nmethod of ref is still where it was (not flushed, not replaced by another compile). */
int jvm_nmethod_alive(const struct nmethod_ref *ref);

/* Whether jvm_nmethod_init succeeded. */
int jvm_nmethod_ready(void);

/* The code ranges ([start, end) pairs, at most max) of the live nmethods of "pkg.Class.method". For tests (slow). */
int jvm_nmethod_ranges_of(const char *qualified_name, uintptr_t *out, int max);

#endif
