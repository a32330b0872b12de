/*
 * The calling thread's Java frames as raw HotSpot frames, walked in this process from the thread's frame anchor:
 * a key for "the same Java call path" that costs a few reads per frame, where JVMTI's GetStackTrace decodes every
 * frame's scopes (microseconds a capture). The JNI marks capture with JVMTI once per distinct key and reuse the
 * names after that (see JniMarks).
 */
#ifndef MEMLEAK4J_JVM_FRAME_WALK_H
#define MEMLEAK4J_JVM_FRAME_WALK_H
#include <jni.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "memleak.h"

/* Tag of an interpreted frame's first word (its Method*); a compiled frame's first word is its pc. */
#define FRAME_WALK_INTERPRETED (1ULL << 63)

/* Kinds of nmethod jvm_frame_walk_nmethod finds. */
#define JVM_NMETHOD_JAVA 1   /* compiled Java code */
#define JVM_NMETHOD_NATIVE 2 /* the compiled wrapper of a native method */

/*
 * The nmethod (its CodeBlob's address) whose code heap block holds pc, found through the code heap's segment map as
 * CodeCache::find_blob does; 0 when none (or jvm_frame_walk_init has not succeeded). Its kind, compile id and the
 * address of its block's entry in the segment map in *kind, *compile_id and *mark when not NULL. Any thread: the
 * block may be freed or reused right after, its caller checks.
 */
uintptr_t jvm_frame_walk_nmethod(uintptr_t pc, int *kind, int32_t *compile_id, uintptr_t *mark);

/* Whether the nmethod found with that compile id and mark is still there: a few reads, no system call. */
int jvm_frame_walk_same_nmethod(uintptr_t nm, int32_t compile_id, uintptr_t mark);

/*
 * Calls visit with every nmethod of the code heaps and its kind (JVM_NMETHOD_JAVA or JVM_NMETHOD_NATIVE) until it
 * returns non-zero. For the start's checks, tests and diagnostics (slow).
 */
int jvm_frame_walk_nmethods(int (*visit)(uintptr_t blob, int kind, void *context), void *context);

/* Finds the offsets the walk needs (after vmstructs_init). Returns 0, or -1 with the reason in err. Idempotent. */
int jvm_frame_walk_init(JNIEnv *env, char *err, size_t err_len);

/* The layout the kernel side's walk from the frame anchor needs (bpf/memleak.h). Returns 0, or -1 with the reason. */
int jvm_frame_walk_layout(JNIEnv *env, struct jvm_layout *out, char *err, size_t err_len);

/*
 * Walks the calling thread's Java frames (the caller must be in a JNI call: its frame anchor is set), innermost
 * first, two words a frame into out: a compiled frame as (pc, compile id of its nmethod), an interpreted one as
 * (Method* | FRAME_WALK_INTERPRETED, bytecode pointer). Stops after max frames. Returns how many frames, or -1 when
 * the walk met something it does not know (a stub, a frame being deoptimized...): then there is no key.
 * *interpreted is set when an interpreted frame is in the key (its Method* is only valid while its class lives).
 */
int jvm_frame_walk(JNIEnv *env, jobject thread, uint64_t *out, int max, int *interpreted);
#endif
