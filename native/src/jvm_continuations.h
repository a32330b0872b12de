/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout the kernel side's Java walk needs to go on through a mounted virtual thread's frozen frames, in the
 * Java heap's stack chunks (see jvm_continuations.c).
 */
#ifndef MEMLEAK4J_JVM_CONTINUATIONS_H
#define MEMLEAK4J_JVM_CONTINUATIONS_H
#include <jni.h>
#include <stddef.h>

#include <linux/types.h>

#include "memleak.h"

/*
 * Fills out's continuation fields (after vmstructs_init). Returns 0; 1 for a JVM without virtual threads; -1 with the
 * reason in why when they are there but the layout is not (libjvm without .symtab, say). Unless 0 the fields stay
 * zeros: the walk then ends at a return barrier.
 */
int jvm_continuations_layout(JNIEnv *env, struct jvm_layout *out, char *why, size_t why_len);
#endif
