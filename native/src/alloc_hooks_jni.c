// SPDX-License-Identifier: Apache-2.0
/*
 * JNI exports of dev.memleak4j.agent.bpf.AllocHooks: the in-process allocator hooks (alloc_hooks.c) and the probes
 * on their probe sites (bpf_tracker.c). Failures come back as BpfException with a message for the user.
 */
#include <jni.h>
#include <stdint.h>
#include <string.h>

#include "alloc_hooks.h"
#include "bpf_tracker.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_bpf_AllocHooks_##name

static void throw_bpf_exception(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, "dev/memleak4j/agent/bpf/BpfException");

	if (type)
		(*env)->ThrowNew(env, type, message);
}

/* A Java string as modified UTF-8 into buffer; false (exception pending or too long) when it cannot. */
static bool copy_string(JNIEnv *env, jstring value, char *buffer, size_t size)
{
	const char *chars;
	bool fits;

	if (!value)
		return false;
	chars = (*env)->GetStringUTFChars(env, value, NULL);
	if (!chars)
		return false;
	fits = strlen(chars) < size;
	if (fits)
		strcpy(buffer, chars);
	(*env)->ReleaseStringUTFChars(env, value, chars);
	return fits;
}

/* Attaches the BPF programs to both probe sites; returns the library file they are in. */
EXPORT(jstring, attachSites0)(JNIEnv *env, jclass type)
{
	char path[4096], err[768];
	uint64_t alloc_offset, free_offset;

	if (alloc_hooks_sites(path, sizeof(path), &alloc_offset, &free_offset, err, sizeof(err)) ||
	    tracker_attach_sites(path, alloc_offset, free_offset, err, sizeof(err))) {
		throw_bpf_exception(env, err);
		return NULL;
	}
	return (*env)->NewStringUTF(env, path);
}

EXPORT(jint, install0)(JNIEnv *env, jclass type, jlong max_tracked, jstring library, jstring prefix)
{
	char library_path[4096], symbols_prefix[32], err[768];
	int changed;

	if (library && !copy_string(env, library, library_path, sizeof(library_path))) {
		if (!(*env)->ExceptionCheck(env))
			throw_bpf_exception(env, "obj: path too long");
		return 0;
	}
	if (prefix && !copy_string(env, prefix, symbols_prefix, sizeof(symbols_prefix))) {
		if (!(*env)->ExceptionCheck(env))
			throw_bpf_exception(env, "symbols-prefix: too long (31 bytes at most)");
		return 0;
	}
	changed = alloc_hooks_install(max_tracked < 0 ? 0 : (uint64_t)max_tracked, library ? library_path : NULL,
				      prefix ? symbols_prefix : NULL, err, sizeof(err));
	if (changed < 0)
		throw_bpf_exception(env, err);
	return changed;
}

/* Restores the slots; returns {slots restored, slots still pointing at a hook afterwards}. */
EXPORT(void, uninstall0)(JNIEnv *env, jclass type, jintArray result)
{
	int left = 0;
	jint values[2];

	values[0] = alloc_hooks_uninstall(&left);
	values[1] = left;
	if (result && (*env)->GetArrayLength(env, result) >= 2)
		(*env)->SetIntArrayRegion(env, result, 0, 2, values);
}

EXPORT(jboolean, installed0)(JNIEnv *env, jclass type)
{
	return alloc_hooks_installed();
}

EXPORT(jobject, filter0)(JNIEnv *env, jclass type)
{
	size_t size;
	void *filter = alloc_hooks_filter(&size);

	return (*env)->NewDirectByteBuffer(env, filter, (jlong)size);
}

EXPORT(jboolean, isSampled0)(JNIEnv *env, jclass type, jlong address)
{
	return alloc_hooks_is_sampled((uint64_t)address);
}

EXPORT(jboolean, siteOptimized0)(JNIEnv *env, jclass type)
{
	return alloc_hooks_site_optimized();
}

/* {calls, frees, failed, dropped} counted by the hooks since the install. */
EXPORT(void, counts0)(JNIEnv *env, jclass type, jlongArray out)
{
	struct alloc_hooks_counts counts;
	jlong values[4];

	alloc_hooks_read_counts(&counts);
	values[0] = (jlong)counts.calls;
	values[1] = (jlong)counts.frees;
	values[2] = (jlong)counts.failed;
	values[3] = (jlong)counts.set_full;
	if (out && (*env)->GetArrayLength(env, out) >= 4)
		(*env)->SetLongArrayRegion(env, out, 0, 4, values);
}
