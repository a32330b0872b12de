/*
 * The kernel side's walk of Java frames from each thread's frame anchor: what it needs from the JVM (jvm_anchor.c).
 */
#ifndef MEMLEAK4J_JVM_ANCHOR_H
#define MEMLEAK4J_JVM_ANCHOR_H
#include <jni.h>
#include <stddef.h>

/*
 * Hands the loaded BPF programs HotSpot's frame layout and the JavaThread of every live thread, and keeps the latter
 * current as threads start and end. Call after the tracker is open, again after each reopening. Returns the number
 * of threads registered, or -1 with the reason in err.
 */
int jvm_anchor_start(JNIEnv *env, char *err, size_t err_len);

/* What the last jvm_anchor_start left out that this JVM has (virtual threads' frozen frames), or NULL. */
const char *jvm_anchor_note(void);
#endif
