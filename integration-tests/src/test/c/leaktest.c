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
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Short-lived blocks from one stack: malloc and free in a loop, for churn; returns the iterations done. */
EXPORT(jint, churn)(JNIEnv *env, jclass type, jint iterations, jlong size)
{
	for (jint i = 0; i < iterations; i++) {
		void *volatile block = malloc((size_t)size); /* local: several threads churn at once */

		free(block);
	}
	return iterations;
}

/* The soak's known leak: its own export, so its stack is told apart from the churn's. */
EXPORT(jlong, soakLeak)(JNIEnv *env, jclass type, jlong size)
{
	return (jlong)(uintptr_t)(leaktest_sink = malloc((size_t)size));
}

/*
 * fork() from the JVM: the child leaks a block of `size` and exits at once (it must not be
 * tracked); returns the child's exit status, or -1 when fork or waitpid failed.
 */
EXPORT(jint, forkChild)(JNIEnv *env, jclass type, jlong size)
{
	int status = 0;
	pid_t child = fork();

	if (child < 0)
		return -1;
	if (child == 0) {
		leaktest_sink = malloc((size_t)size);
		_exit(leaktest_sink ? 42 : 1);
	}
	if (waitpid(child, &status, 0) != child)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A leak whose pages are touched, so that it shows in RSS as a real leak does: malloc + memset. */
EXPORT(jlong, leakTouched)(JNIEnv *env, jclass type, jlong size)
{
	void *block = malloc((size_t)size);

	if (block)
		memset(block, 0x5a, (size_t)size);
	return (jlong)(uintptr_t)(leaktest_sink = block);
}

/*
 * Fragments the calling thread's arena: mallocs `count` blocks of `size`, then frees all but every `keep_every`-th.
 * The freed blocks stay in glibc's arena (the kept ones pin them: nothing at the top to trim), touched, so RSS keeps
 * them while malloc's in-use bytes fall back. Returns how many blocks were kept.
 */
EXPORT(jint, fragment)(JNIEnv *env, jclass type, jint count, jlong size, jint keep_every)
{
	void **blocks = calloc((size_t)count, sizeof(*blocks));
	jint kept = 0;

	if (!blocks)
		return -1;
	for (jint i = 0; i < count; i++)
		blocks[i] = malloc((size_t)size);
	for (jint i = 0; i < count; i++) {
		if (i % keep_every == keep_every - 1)
			kept++;
		else
			free(blocks[i]);
	}
	free(blocks);
	return kept;
}

/* Memory outside malloc: an anonymous mapping of `size` bytes, touched, never unmapped. */
EXPORT(jlong, mmapTouched)(JNIEnv *env, jclass type, jlong size)
{
	void *mapped = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mapped == MAP_FAILED)
		return 0;
	memset(mapped, 0x5a, (size_t)size);
	return (jlong)(uintptr_t)mapped;
}

/* One frame per level (no inlining, no sibling calls: see CFLAGS), so each depth is a stack of its own. */
static __attribute__((noinline)) void *malloc_at_depth(int depth, size_t size)
{
	void *volatile block;

	if (depth > 0)
		block = malloc_at_depth(depth - 1, size);
	else
		block = malloc(size);
	return block;
}

/* A block of `size` from a stack `depth` frames deeper than the export's; 0 on failure. */
EXPORT(jlong, mallocAtDepth)(JNIEnv *env, jclass type, jint depth, jlong size)
{
	return (jlong)(uintptr_t)malloc_at_depth(depth, (size_t)size);
}
