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

/*
 * Code this library never returns into: 16 bytes of int3 padding, then the landings, more padding. The data rbp
 * points at below holds addresses of landings, as a structure of code without frame pointers holds function
 * pointers: the frame-pointer walk reads one as a return address. It lies in an executable mapping, no call comes
 * before it, and it changes from one allocation to the next.
 */
__asm__(".text\n"
	".p2align 4\n"
	"nofp_landings:\n"
	".fill 32, 1, 0xcc\n");

extern const char nofp_landings[];

/* What rbp points at while malloc runs: looks like a frame (saved rbp, return address), is data. */
struct nofp_context {
	uintptr_t next;
	const void *code;
};

/* 8 contexts, then one that ends the chain (its next is 0). */
static struct nofp_context nofp_contexts[9];

__attribute__((noinline)) static void *nofp_allocate_with_context(size_t size, unsigned int landing)
{
	struct nofp_context *context = &nofp_contexts[landing % 8];
	void *block;

	/* A pointer to data above this one, as the walk wants of a caller's frame: it goes on to the landing. */
	context->next = (uintptr_t)&nofp_contexts[8];
	context->code = nofp_landings + 16 + landing % 8;
	__asm__ volatile("mov %0, %%rbp" : : "r"(context) : "rbp", "memory");
	block = malloc(size);
	if (block)
		memset(block, 0x5a, size < 64 ? size : 64);
	nofp_sink = block;
	return block;
}

/* Leaks `size` bytes while rbp points at data holding the address of landing `landing % 8`. */
EXPORT(jlong, leakThroughData)(JNIEnv *env, jclass type, jlong size, jint landing)
{
	void *block = nofp_allocate_with_context((size_t)size, (unsigned int)landing);

	nofp_sink = block;
	return (jlong)(uintptr_t)block;
}
