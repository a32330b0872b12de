// SPDX-License-Identifier: Apache-2.0
/* JNI export of dev.memleak4j.agent.memory.MallocTrim: glibc's malloc_trim (see MallocTrim for when it is called). */
#include <jni.h>
#include <malloc.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_memory_MallocTrim_##name

EXPORT(void, trim0)(JNIEnv *env, jclass type)
{
	malloc_trim(0);
}
