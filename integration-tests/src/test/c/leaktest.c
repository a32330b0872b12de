// SPDX-License-Identifier: Apache-2.0
/*
 * JNI library for the integration tests: each export calls one allocator function directly (so the
 * allocator's direct caller is the export itself) with a size no JVM allocation has, and returns the
 * block's address so tests can compare with show-allocs. Built with frame pointers.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_it_programs_LeakLib_##name

void *volatile leaktest_sink;

EXPORT(jlong, viaMalloc)(JNIEnv *env, jclass type, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = malloc((size_t)size));
}

EXPORT(jlong, viaCalloc)(JNIEnv *env, jclass type, jlong count, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = calloc((size_t)count, (size_t)size));
}

EXPORT(jlong, viaRealloc)(JNIEnv *env, jclass type, jlong block, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = realloc((void *)(uintptr_t)block, (size_t)size));
}

EXPORT(jlong, viaReallocarray)(JNIEnv *env, jclass type, jlong block, jlong count, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = reallocarray((void *)(uintptr_t)block, (size_t)count, (size_t)size));
}

/* Returns the block, or 0 when posix_memalign reported an error. */
EXPORT(jlong, viaPosixMemalign)(JNIEnv *env, jclass type, jlong alignment, jlong size)
{
	void *block = NULL;

	if (posix_memalign(&block, (size_t)alignment, (size_t)size))
		return 0;
	return (jlong)(uintptr_t)(leaktest_sink = block);
}

EXPORT(jlong, viaAlignedAlloc)(JNIEnv *env, jclass type, jlong alignment, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = aligned_alloc((size_t)alignment, (size_t)size));
}

EXPORT(jlong, viaMemalign)(JNIEnv *env, jclass type, jlong alignment, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = memalign((size_t)alignment, (size_t)size));
}

EXPORT(jlong, viaValloc)(JNIEnv *env, jclass type, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = valloc((size_t)size));
}

EXPORT(jlong, viaPvalloc)(JNIEnv *env, jclass type, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = pvalloc((size_t)size));
}

EXPORT(void, release)(JNIEnv *env, jclass type, jlong block)
{
	free((void *)(uintptr_t)block);
}

/* Many same-sized allocations from one stack, for the sampling test; returns how many succeeded. */
EXPORT(jint, mallocMany)(JNIEnv *env, jclass type, jint count, jlong size)
{
	jint made = 0;

	for (jint i = 0; i < count; i++) {
		void *block = malloc((size_t)size);

		if (block)
			made++;
		leaktest_sink = block;
	}
	return made;
}
