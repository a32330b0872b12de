// SPDX-License-Identifier: Apache-2.0
/*
 * JNI exports of dev.memleak4j.agent.symbols.ElfSymbolIndex: the native symbol index (elf_symbols.c) and the listing
 * of a file's function symbols. A handle is the index's address; indexes are kept for the life of the process (see
 * ElfSymbolIndex), never freed.
 */
#include <jni.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbols.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_symbols_ElfSymbolIndex_##name

static void throw_io_exception(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, "java/io/IOException");

	if (type)
		(*env)->ThrowNew(env, type, message);
}

/* The path (bytes of the file name, no NUL) as a C string in file; false with an IOException thrown when it is not. */
static bool path_of(JNIEnv *env, jbyteArray path, char *file, size_t size)
{
	jsize length;

	if (!path)
		return false;
	length = (*env)->GetArrayLength(env, path);
	if (length <= 0 || (size_t)length >= size) {
		throw_io_exception(env, "path too long for the symbol reader");
		return false;
	}
	(*env)->GetByteArrayRegion(env, path, 0, length, (jbyte *)file);
	file[length] = '\0';
	if (strlen(file) != (size_t)length) {
		throw_io_exception(env, "path with a NUL byte");
		return false;
	}
	return true;
}

/* The index of the file at path; throws IOException when it cannot be read. */
EXPORT(jlong, load0)(JNIEnv *env, jclass type, jbyteArray path)
{
	char file[4096];
	char err[512];
	struct elf_symbols *index;

	if (!path_of(env, path, file, sizeof(file)))
		return 0;
	index = elf_symbols_load(file, err, sizeof(err));
	if (!index)
		throw_io_exception(env, err);
	return (jlong)(uintptr_t)index;
}

/* The listing while it is collected: FUNCTION_WORDS longs per function, and their names back to back. */
#define FUNCTION_WORDS 4

struct listing {
	jlong *words;
	size_t count, capacity;
	char *names;
	size_t names_size, names_capacity;
};

static bool grow(void **buffer, size_t *capacity, size_t needed, size_t element)
{
	size_t grown = *capacity ? *capacity : 4096;
	void *fresh;

	if (needed <= *capacity)
		return true;
	while (grown < needed)
		grown *= 2;
	fresh = realloc(*buffer, grown * element);
	if (!fresh)
		return false;
	*buffer = fresh;
	*capacity = grown;
	return true;
}

static int collect(void *context, const struct elf_function *function)
{
	struct listing *l = context;
	jlong *words;

	if (!grow((void **)&l->words, &l->capacity, (l->count + 1) * FUNCTION_WORDS, sizeof(jlong)) ||
	    !grow((void **)&l->names, &l->names_capacity, l->names_size + function->name_length, 1))
		return -1;
	words = l->words + l->count * FUNCTION_WORDS;
	words[0] = (jlong)function->value;
	words[1] = (jlong)function->size;
	words[2] = (jlong)function->section_end;
	words[3] = (jlong)function->flags | (jlong)function->name_length << 32;
	memcpy(l->names + l->names_size, function->name, function->name_length);
	l->names_size += function->name_length;
	l->count++;
	return 0;
}

/*
 * The function symbols of the file at path (elf_symbols_functions): {long[] words, byte[] names}, per function
 * value, size, section end, and flags | name length << 32 in words, its name (UTF-8) next in names. Throws
 * IOException when the file cannot be read.
 */
EXPORT(jobjectArray, functions0)(JNIEnv *env, jclass type, jbyteArray path)
{
	struct listing l = {0};
	jobjectArray result = NULL;
	jlongArray words = NULL;
	jbyteArray names = NULL;
	char file[4096];
	char err[512];
	jclass object;

	if (!path_of(env, path, file, sizeof(file)))
		return NULL;
	if (elf_symbols_functions(file, collect, &l, err, sizeof(err))) {
		throw_io_exception(env, err);
		goto out;
	}
	if (l.count * FUNCTION_WORDS > INT32_MAX || l.names_size > INT32_MAX) {
		throw_io_exception(env, "too many symbols");
		goto out;
	}
	object = (*env)->FindClass(env, "java/lang/Object");
	words = object ? (*env)->NewLongArray(env, (jsize)(l.count * FUNCTION_WORDS)) : NULL;
	names = words ? (*env)->NewByteArray(env, (jsize)l.names_size) : NULL;
	result = names ? (*env)->NewObjectArray(env, 2, object, NULL) : NULL;
	if (!result)
		goto out; /* OutOfMemoryError pending */
	(*env)->SetLongArrayRegion(env, words, 0, (jsize)(l.count * FUNCTION_WORDS), l.words);
	(*env)->SetByteArrayRegion(env, names, 0, (jsize)l.names_size, (const jbyte *)l.names);
	(*env)->SetObjectArrayElement(env, result, 0, words);
	(*env)->SetObjectArrayElement(env, result, 1, names);
out:
	free(l.words);
	free(l.names);
	return result;
}

/* The name (UTF-8 bytes) of the function containing vaddr, its start in start[0]; null when none contains it. */
EXPORT(jbyteArray, lookup0)(JNIEnv *env, jclass type, jlong handle, jlong vaddr, jlongArray start)
{
	const struct elf_symbols *index = (const struct elf_symbols *)(uintptr_t)handle;
	char small[1024];
	char *name = small;
	uint64_t symbol_start;
	jbyteArray result = NULL;
	jlong value;
	long length;

	if (!index || !start || (*env)->GetArrayLength(env, start) < 1)
		return NULL;
	length = elf_symbols_lookup(index, (uint64_t)vaddr, &symbol_start, small, sizeof(small));
	if (length < 0)
		return NULL;
	if ((size_t)length > sizeof(small)) {
		/* A long C++ name: read again into a buffer of its size. */
		if (!(name = malloc((size_t)length)) ||
		    elf_symbols_lookup(index, (uint64_t)vaddr, &symbol_start, name, (size_t)length) != length)
			goto out;
	}
	result = (*env)->NewByteArray(env, (jsize)length);
	if (!result)
		goto out; /* OutOfMemoryError pending */
	(*env)->SetByteArrayRegion(env, result, 0, (jsize)length, (const jbyte *)name);
	value = (jlong)symbol_start;
	(*env)->SetLongArrayRegion(env, start, 0, 1, &value);
out:
	if (name != small)
		free(name);
	return result;
}

EXPORT(jint, size0)(JNIEnv *env, jclass type, jlong handle)
{
	const struct elf_symbols *index = (const struct elf_symbols *)(uintptr_t)handle;

	return index ? (jint)elf_symbols_size(index) : 0;
}
