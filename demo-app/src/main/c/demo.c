// SPDX-License-Identifier: Apache-2.0
/*
 * The demo's native half: a JNI fibonacci that leaks its memo table on every call (the leak memleak4j must
 * find), and a churn loop that allocates and frees (noise memleak4j must not report).
 * Built with frame pointers and no sibling calls so every frame stays on the stack.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Stores pointers where the optimizer cannot see them unused, so no malloc/free pair is elided. */
void *volatile demo_sink;

/* Computes fib(n) with a memo table of 1024 entries that it never frees: 8192 bytes leaked per call. */
__attribute__((noinline)) uint64_t fibonacci(int n)
{
	uint64_t *memo = calloc(1024, sizeof(uint64_t));

	if (!memo)
		return 0;
	demo_sink = memo;
	if (n < 0)
		n = 0;
	if (n > 1023)
		n = 1023;
	memo[0] = 0;
	memo[1] = 1;
	for (int i = 2; i <= n; i++)
		memo[i] = memo[i - 1] + memo[i - 2];
	return memo[n];
}

JNIEXPORT jlong JNICALL Java_dev_memleak4j_demo_NativeMath_fibonacci(JNIEnv *env, jclass type, jint n)
{
	return (jlong)fibonacci(n);
}

/* Allocates and frees blocks of many sizes through malloc, calloc and realloc; nothing stays outstanding. */
JNIEXPORT void JNICALL Java_dev_memleak4j_demo_NativeMath_churn(JNIEnv *env, jclass type, jint rounds)
{
	for (int i = 0; i < rounds; i++) {
		size_t size = 16 + (size_t)(i * 37) % 4000;
		char *block = malloc(size);
		char *zeroed = calloc(4, size);

		if (block)
			memset(block, i, size);
		demo_sink = block;
		block = realloc(block, size * 2);
		demo_sink = zeroed;
		free(block);
		free(zeroed);
	}
}
