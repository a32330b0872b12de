// SPDX-License-Identifier: Apache-2.0
/*
 * JNI export of dev.memleak4j.agent.memory.MallocStats: glibc's own accounting of its heap (mallinfo2), for the
 * verdict on the process's memory. mallinfo2 (glibc 2.33+) is looked up at run time, so the library still loads on an
 * older glibc or another libc; then mallinfo's int fields (wrapping above 2 GiB) are used where it exists.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <malloc.h>
#include <stddef.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_memory_MallocStats_##name

/* The fields read, in the order of the returned array. */
enum { ARENA, HBLKHD, UORDBLKS, FORDBLKS, KEEPCOST, FIELDS };

struct mallinfo2_fields {	/* glibc's struct mallinfo2, declared here for headers older than 2.33 */
	size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

/*
 * {arena, hblkhd, uordblks, fordblks, keepcost} in bytes: memory from sbrk and arena heaps, memory in mmapped chunks,
 * bytes in use in the arenas, bytes free in the arenas, releasable top; null when this libc has neither function.
 */
EXPORT(jlongArray, read0)(JNIEnv *env, jclass type)
{
	struct mallinfo2_fields (*info2)(void) = (struct mallinfo2_fields (*)(void))dlsym(RTLD_DEFAULT, "mallinfo2");
	jlong values[FIELDS];
	jlongArray result;

	if (info2) {
		struct mallinfo2_fields m = info2();

		values[ARENA] = (jlong)m.arena;
		values[HBLKHD] = (jlong)m.hblkhd;
		values[UORDBLKS] = (jlong)m.uordblks;
		values[FORDBLKS] = (jlong)m.fordblks;
		values[KEEPCOST] = (jlong)m.keepcost;
	} else {
		struct mallinfo (*info)(void) = (struct mallinfo (*)(void))dlsym(RTLD_DEFAULT, "mallinfo");
		struct mallinfo m;

		if (!info)
			return NULL;
		m = info();
		values[ARENA] = (unsigned int)m.arena;
		values[HBLKHD] = (unsigned int)m.hblkhd;
		values[UORDBLKS] = (unsigned int)m.uordblks;
		values[FORDBLKS] = (unsigned int)m.fordblks;
		values[KEEPCOST] = (unsigned int)m.keepcost;
	}
	result = (*env)->NewLongArray(env, FIELDS);
	if (result)
		(*env)->SetLongArrayRegion(env, result, 0, FIELDS, values);
	return result;
}
