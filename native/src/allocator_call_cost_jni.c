// SPDX-License-Identifier: Apache-2.0
/* JNI export of dev.memleak4j.agent.probes.AllocatorCallCost. */
#include <jni.h>

#include "alloc_hooks.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_probes_AllocatorCallCost_##name

/*
 * What the probes add to one allocator call of this process: `pairs` malloc(64)/free pairs timed on the calling
 * thread, the best of three runs, in ns per pair. Called before the probes are attached and after (with the thread
 * ignored by the kernel side, so the programs return at once): the difference is the trap, which varies several-fold
 * between hosts, and is what an application pays per call.
 */
EXPORT(jdouble, pairNanos0)(JNIEnv *env, jclass type, jint pairs)
{
	/* With probe-mode=hooks the pairs go through the hooks (this library's own calls never do). */
	return alloc_hooks_pair_nanos(pairs);
}
