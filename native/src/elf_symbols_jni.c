// SPDX-License-Identifier: Apache-2.0
/*
 * JNI exports of dev.memleak4j.agent.symbols.ElfSymbolIndex: the native symbol index (elf_symbols.c). A handle is
 * the index's address; indexes are kept for the life of the process (see ElfSymbolIndex), never freed.
 */
#include <jni.h>
#include <stdint.h>
#include <string.h>

#include "elf_symbols.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_symbols_ElfSymbolIndex_##name

static void throw_io_exception(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, "java/io/IOException");

	if (type)
		(*env)->ThrowNew(env, type, message);
}

/* The index of the file at path (bytes of the file name, no NUL); throws IOException when it cannot be read. */
EXPORT(jlong, load0)(JNIEnv *env, jclass type, jbyteArray path)
{
	char file[4096];
	char err[512];
	jsize length;
	struct elf_symbols *index;

	if (!path)
		return 0;
	length = (*env)->GetArrayLength(env, path);
	if (length <= 0 || (size_t)length >= sizeof(file)) {
		throw_io_exception(env, "path too long for the symbol reader");
		return 0;
	}
	(*env)->GetByteArrayRegion(env, path, 0, length, (jbyte *)file);
	file[length] = '\0';
	if (strlen(file) != (size_t)length) {
		throw_io_exception(env, "path with a NUL byte");
		return 0;
	}
	index = elf_symbols_load(file, err, sizeof(err));
	if (!index)
		throw_io_exception(env, err);
	return (jlong)(uintptr_t)index;
}

/* The name (UTF-8 bytes) of the function containing vaddr, its start in start[0]; null when none contains it. */
EXPORT(jbyteArray, lookup0)(JNIEnv *env, jclass type, jlong handle, jlong vaddr, jlongArray start)
{
	const struct elf_symbols *index = (const struct elf_symbols *)(uintptr_t)handle;
	uint64_t symbol_start;
	const char *name;
	jbyteArray result;
	jlong value;
	size_t length;

	if (!index || !start || (*env)->GetArrayLength(env, start) < 1)
		return NULL;
	name = elf_symbols_lookup(index, (uint64_t)vaddr, &symbol_start);
	if (!name)
		return NULL;
	length = strlen(name);
	result = (*env)->NewByteArray(env, (jsize)length);
	if (!result)
		return NULL; /* OutOfMemoryError pending */
	(*env)->SetByteArrayRegion(env, result, 0, (jsize)length, (const jbyte *)name);
	value = (jlong)symbol_start;
	(*env)->SetLongArrayRegion(env, start, 0, 1, &value);
	return result;
}

EXPORT(jint, size0)(JNIEnv *env, jclass type, jlong handle)
{
	const struct elf_symbols *index = (const struct elf_symbols *)(uintptr_t)handle;

	return index ? (jint)elf_symbols_size(index) : 0;
}
