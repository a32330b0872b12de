// SPDX-License-Identifier: Apache-2.0
/*
 * A JNI library built like most distribution libraries: -O2 -fomit-frame-pointer (see the Makefile). Its leak goes
 * through nested functions that are not inlined, and the innermost one uses rbp as a data register around the
 * allocation, as compiled code without frame pointers does: the frame-pointer walk from malloc stops inside this
 * library, so the Java callers can only come from the JNI marks.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_it_programs_NoFpLib_##name

void *volatile nofp_sink;

__attribute__((noinline)) static void *nofp_allocate_state(size_t size)
{
	void *block;

	/* rbp holds data here, not a frame: what the walk reads as the next frame is this number. */
	__asm__ volatile("mov %0, %%rbp" : : "r"((uint64_t)size) : "rbp");
	block = malloc(size);
	if (block)
		memset(block, 0x5a, size < 64 ? size : 64);
	nofp_sink = block;
	return block;
}

__attribute__((noinline)) static void *nofp_create_context(size_t size)
{
	void *block = nofp_allocate_state(size);

	nofp_sink = block;
	return block;
}

/* Leaks `size` bytes; returns the block's address (0 on failure). */
EXPORT(jlong, leak)(JNIEnv *env, jclass type, jlong size)
{
	void *block = nofp_create_context((size_t)size);

	nofp_sink = block;
	return (jlong)(uintptr_t)block;
}
