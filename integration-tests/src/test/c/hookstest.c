// SPDX-License-Identifier: Apache-2.0
/*
 * JNI library for the hooks tests (HooksLib), loaded by the program after the agent started: allocations libc makes
 * itself (strdup), one made in a library this one dlopen()s, and a read-back of this library's own import-table slot
 * for malloc. Built with frame pointers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_it_programs_HooksLib_##name

void *volatile hookstest_sink;

/* strdup of a string of `length` characters: libc allocates length + 1 bytes itself, on our behalf. */
EXPORT(jlong, viaStrdup)(JNIEnv *env, jclass type, jint length)
{
	char *text = malloc((size_t)length + 1);
	char *copy;

	if (!text)
		return 0;
	memset(text, 'x', (size_t)length);
	text[length] = '\0';
	copy = strdup(text);
	free(text);
	return (jlong)(uintptr_t)(hookstest_sink = copy);
}

/* dlopen()s the library at path (from C, not through the JVM) and calls its allocating function. */
EXPORT(jlong, viaDlopened)(JNIEnv *env, jclass type, jstring path, jlong size)
{
	const char *file = (*env)->GetStringUTFChars(env, path, NULL);
	void *library, *(*allocate)(size_t);

	if (!file)
		return 0;
	library = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	(*env)->ReleaseStringUTFChars(env, path, file);
	if (!library || !(allocate = (void *(*)(size_t))dlsym(library, "dlopened_alloc")))
		return 0;
	return (jlong)(uintptr_t)(hookstest_sink = allocate((size_t)size));
}

/*
 * 1 when this library's GOT slot for malloc (the address it takes of malloc) holds the allocator's malloc itself, 0
 * when it holds something else (a hook).
 */
EXPORT(jint, mallocSlotIsTheAllocators)(JNIEnv *env, jclass type)
{
	void *(*volatile slot)(size_t) = malloc;

	return (void *)slot == dlsym(RTLD_DEFAULT, "malloc");
}

EXPORT(void, release)(JNIEnv *env, jclass type, jlong block)
{
	free((void *)(uintptr_t)block);
}

/* malloc/free churn of assorted sizes with a realloc in between, for threads running while the hooks come and go. */
EXPORT(void, churn)(JNIEnv *env, jclass type, jint iterations)
{
	for (jint i = 0; i < iterations; i++) {
		void *block = malloc((size_t)(16 + (i & 1023)));
		void *bigger = block ? realloc(block, (size_t)(2048 + (i & 4095))) : NULL;

		free(bigger ? bigger : block);
	}
}

/* A known leak of one block of size bytes from its own export. */
EXPORT(jlong, leak)(JNIEnv *env, jclass type, jlong size)
{
	return (jlong)(uintptr_t)(hookstest_sink = malloc((size_t)size));
}
