// SPDX-License-Identifier: Apache-2.0
/*
 * JNI library for the hooks tests (HooksLib), loaded by the program after the agent started: allocations libc makes
 * itself (strdup), one made in a library this one dlopen()s, allocations through pointers fetched with dlsym, and a
 * read-back of this library's own import-table slots for malloc and dlsym. Built with frame pointers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
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

/* The base name of the file that holds function, as dladdr says ("?" when it cannot). */
static const char *file_of(const void *function)
{
	Dl_info info;
	const char *slash;

	if (!dladdr(function, &info) || !info.dli_fname)
		return "?";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

/*
 * Where this library's own GOT slots for malloc and dlsym (the addresses it takes of them) point: "malloc=FILE
 * dlsym=FILE", FILE the library that holds the function the slot holds (libc's, or the agent's hooks).
 */
EXPORT(jstring, slotTargets)(JNIEnv *env, jclass type)
{
	void *(*volatile allocate)(size_t) = malloc;
	void *(*volatile lookup)(void *, const char *) = dlsym;
	char text[512];

	snprintf(text, sizeof(text), "malloc=%s dlsym=%s", file_of((void *)allocate), file_of((void *)lookup));
	return (*env)->NewStringUTF(env, text);
}

/* Exported by this library only, which the JVM loads with RTLD_LOCAL: not in the global scope. */
int hookstest_marker;

/*
 * 1 when dlsym(RTLD_DEFAULT) finds this library's own symbol: glibc searches the calling library's scope, which holds
 * the library itself, so the lookup must be made as this library's (not as a hook's in between).
 */
EXPORT(jint, findsOwnSymbol)(JNIEnv *env, jclass type)
{
	return dlsym(RTLD_DEFAULT, "hookstest_marker") == (void *)&hookstest_marker;
}

/* size bytes from the malloc that dlsym(RTLD_DEFAULT, "malloc") returns: a pointer by name, no import slot. */
EXPORT(jlong, viaDlsym)(JNIEnv *env, jclass type, jlong size)
{
	void *(*allocate)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");

	return allocate ? (jlong)(uintptr_t)(hookstest_sink = allocate((size_t)size)) : 0;
}

/* Frees block with the free that dlsym(RTLD_DEFAULT, "free") returns. */
EXPORT(void, releaseViaDlsym)(JNIEnv *env, jclass type, jlong block)
{
	void (*release)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");

	if (release)
		release((void *)(uintptr_t)block);
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
