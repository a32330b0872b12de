// SPDX-License-Identifier: Apache-2.0
/*
 * The benchmark's JNI half: a malloc(64)/free loop (the cost of one allocator pair, probes included), blocks
 * allocated and kept (the 1M-outstanding-allocations mode), and a reader of the LD_PRELOAD call counter.
 * Built with frame pointers and no sibling calls, as an application's JNI library would be for good stacks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>

/* Stores pointers where the optimizer cannot see them unused, so no malloc/free pair is elided. */
void *volatile bench_sink;

__attribute__((noinline)) static int malloc_free_pairs(int pairs)
{
	for (int i = 0; i < pairs; i++) {
		char *block = malloc(64);

		if (!block)
			return -1;
		block[0] = (char)i;
		bench_sink = block;
		free(block);
	}
	return pairs;
}

JNIEXPORT jint JNICALL Java_dev_memleak4j_bench_NativeBench_mallocFreePairs(JNIEnv *env, jclass type, jint pairs)
{
	return malloc_free_pairs(pairs);
}

__attribute__((noinline)) static void **hold_blocks(int count, int size)
{
	void **blocks = malloc((size_t)count * sizeof(void *));

	if (!blocks)
		return NULL;
	for (int i = 0; i < count; i++) {
		char *block = malloc((size_t)size);

		if (block)
			block[0] = (char)i;
		blocks[i] = block;
	}
	return blocks;
}

JNIEXPORT jlong JNICALL Java_dev_memleak4j_bench_NativeBench_holdBlocks(JNIEnv *env, jclass type, jint count,
									 jint size)
{
	return (jlong)(intptr_t)hold_blocks(count, size);
}

JNIEXPORT void JNICALL Java_dev_memleak4j_bench_NativeBench_releaseBlocks(JNIEnv *env, jclass type, jlong handle,
									   jint count)
{
	void **blocks = (void **)(intptr_t)handle;

	if (!blocks)
		return;
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	free(blocks);
}

/* The number of allocator calls counted by libbenchcount.so when it is preloaded, else -1. */
JNIEXPORT jlong JNICALL Java_dev_memleak4j_bench_NativeBench_allocatorCalls(JNIEnv *env, jclass type)
{
	uint64_t (*calls)(void) = (uint64_t(*)(void))dlsym(RTLD_DEFAULT, "memleak4j_bench_allocator_calls");

	return calls ? (jlong)calls() : -1;
}

/* The address of the malloc this library calls (libc's, unless something is preloaded): where a bare uprobe goes. */
JNIEXPORT jlong JNICALL Java_dev_memleak4j_bench_NativeBench_mallocAddress(JNIEnv *env, jclass type)
{
	void *(*volatile address)(size_t) = malloc;

	return (jlong)(uintptr_t)address;
}
