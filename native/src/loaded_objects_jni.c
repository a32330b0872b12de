// SPDX-License-Identifier: Apache-2.0
/*
 * JNI export of dev.memleak4j.agent.symbols.LoadedObjects: how many objects the dynamic linker has loaded and
 * unloaded so far, so that the symbolizer reads /proc/self/maps again when libraries came or went, and only then.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <link.h>

static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	*(jlong *)data = (jlong)(info->dlpi_adds + info->dlpi_subs);
	return 1; /* every object carries the same two counts: the first one is enough */
}

JNIEXPORT jlong JNICALL Java_dev_memleak4j_agent_symbols_LoadedObjects_changes0(JNIEnv *env, jclass type)
{
	jlong changes = 0;

	dl_iterate_phdr(first_object, &changes);
	return changes;
}
