// SPDX-License-Identifier: Apache-2.0
/*
 * JNI export of dev.memleak4j.agent.nativelib.JvmManagement: the figures the platform MXBeans give (heap and non-heap
 * committed, live threads, start time, classes loaded, compile time, the direct and mapped buffer pools) without the
 * MXBeans. Reaching them through ManagementFactory loads about a hundred classes of java.management and the JDK's
 * cgroup detection into the application's JVM, and keeps their objects for good, which every full GC marks.
 *
 * The MXBeans' own native methods are called instead: the JDK's libmanagement exports them by name in every JDK the
 * agent supports (its JNI_OnLoad fetches the JVM's management interface into the library's globals; those methods do
 * not use their receiver), as diagnostic_command_jni.c does with libmanagement_ext. The buffer pools have no native
 * side: the JDK's own list of them (jdk.internal.misc.VM.getBufferPools, which the BufferPoolMXBeans wrap) is read
 * through JNI, which does not check that the package is exported.
 */
#include <dlfcn.h>
#include <jni.h>
#include <string.h>
#include <time.h>

#include "jdk_library.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_nativelib_JvmManagement_##name

/* The figures, as numbered in JvmManagement. */
enum { HEAP_COMMITTED, NON_HEAP_COMMITTED, LIVE_THREADS, START_MILLIS, LOADED_CLASSES, COMPILE_MILLIS };

typedef jobject (JNICALL *usage_fn)(JNIEnv *env, jobject receiver, jboolean heap);
typedef jlong (JNICALL *long_fn)(JNIEnv *env, jobject receiver);
typedef jint (JNICALL *int_fn)(JNIEnv *env, jobject receiver);

static struct {
	usage_fn memory_usage;
	int_fn live_threads;
	long_fn start_millis;
	long_fn loaded_classes;
	long_fn compile_millis;
} management;

static struct {
	jclass vm;
	jmethodID buffer_pools;
	jmethodID list_size, list_get;
	jmethodID pool_name, pool_used;
} pools;

/* libmanagement's functions, looked up once; 0, or -1 with IllegalStateException pending. */
static int find_management(JNIEnv *env, jstring library)
{
	void *handle;

	if (__atomic_load_n(&management.compile_millis, __ATOMIC_ACQUIRE))
		return 0;
	handle = jdk_library_open(env, library);
	if (!handle)
		return -1;
	usage_fn memory_usage = (usage_fn)dlsym(handle, "Java_sun_management_MemoryImpl_getMemoryUsage0");
	int_fn live_threads = (int_fn)dlsym(handle, "Java_sun_management_VMManagementImpl_getLiveThreadCount");
	long_fn start_millis = (long_fn)dlsym(handle, "Java_sun_management_VMManagementImpl_getStartupTime");
	long_fn loaded_classes = (long_fn)dlsym(handle, "Java_sun_management_VMManagementImpl_getTotalClassCount");
	long_fn compile_millis = (long_fn)dlsym(handle, "Java_sun_management_VMManagementImpl_getTotalCompileTime");
	if (!memory_usage || !live_threads || !start_millis || !loaded_classes || !compile_millis) {
		jdk_library_throw(env, "libmanagement lacks a native method of the MXBeans");
		return -1;
	}
	management.memory_usage = memory_usage;
	management.live_threads = live_threads;
	management.start_millis = start_millis;
	management.loaded_classes = loaded_classes;
	__atomic_store_n(&management.compile_millis, compile_millis, __ATOMIC_RELEASE); /* last: the others are set */
	return 0;
}

/* What MemoryUsage.getCommitted() says of the heap's or the non-heap pools' usage; -1 with an exception pending. */
static jlong committed(JNIEnv *env, jboolean heap)
{
	jobject usage = management.memory_usage(env, NULL, heap);
	jclass type;
	jmethodID get;
	jlong bytes;

	if (!usage || (*env)->ExceptionCheck(env))
		return -1;
	type = (*env)->GetObjectClass(env, usage);
	get = (*env)->GetMethodID(env, type, "getCommitted", "()J");
	bytes = get ? (*env)->CallLongMethod(env, usage, get) : -1;
	if ((*env)->ExceptionCheck(env))
		bytes = -1;
	(*env)->DeleteLocalRef(env, type);
	(*env)->DeleteLocalRef(env, usage);
	return bytes;
}

/* One figure (see the enum); throws IllegalStateException when libmanagement cannot give it. */
EXPORT(jlong, figure0)(JNIEnv *env, jclass type, jstring library, jint which)
{
	if (find_management(env, library) < 0)
		return -1;
	switch (which) {
	case HEAP_COMMITTED:
		return committed(env, JNI_TRUE);
	case NON_HEAP_COMMITTED:
		return committed(env, JNI_FALSE);
	case LIVE_THREADS:
		return management.live_threads(env, NULL);
	case START_MILLIS:
		return management.start_millis(env, NULL);
	case LOADED_CLASSES:
		return management.loaded_classes(env, NULL);
	case COMPILE_MILLIS:
		return management.compile_millis(env, NULL);
	default:
		jdk_library_throw(env, "no such figure");
		return -1;
	}
}

/* The classes and methods of the buffer pools' list, looked up once; 0, or -1 with an exception pending. */
static int find_pools(JNIEnv *env)
{
	jclass vm, list, pool;

	if (__atomic_load_n(&pools.pool_used, __ATOMIC_ACQUIRE))
		return 0;
	vm = (*env)->FindClass(env, "jdk/internal/misc/VM");
	list = vm ? (*env)->FindClass(env, "java/util/List") : NULL;
	pool = list ? (*env)->FindClass(env, "jdk/internal/misc/VM$BufferPool") : NULL;
	if (!pool)
		return -1;
	pools.buffer_pools = (*env)->GetStaticMethodID(env, vm, "getBufferPools", "()Ljava/util/List;");
	pools.list_size = (*env)->GetMethodID(env, list, "size", "()I");
	pools.list_get = (*env)->GetMethodID(env, list, "get", "(I)Ljava/lang/Object;");
	pools.pool_name = (*env)->GetMethodID(env, pool, "getName", "()Ljava/lang/String;");
	jmethodID pool_used = (*env)->GetMethodID(env, pool, "getMemoryUsed", "()J");
	if (!pools.buffer_pools || !pools.list_size || !pools.list_get || !pools.pool_name || !pool_used)
		return -1;
	pools.vm = (*env)->NewGlobalRef(env, vm);
	if (!pools.vm)
		return -1;
	__atomic_store_n(&pools.pool_used, pool_used, __ATOMIC_RELEASE); /* last: the others are set */
	return 0;
}

/*
 * Fills {direct, mapped} with the memory the buffer pools of those names use (0 for a pool the JDK does not have),
 * as BufferPoolMXBean.getMemoryUsed says it; throws when the JDK's list cannot be read.
 */
EXPORT(void, bufferPools0)(JNIEnv *env, jclass type, jlongArray into)
{
	jlong used[2] = { 0, 0 };
	jobject list;
	jint size;

	if (find_pools(env) < 0) {
		if (!(*env)->ExceptionCheck(env))
			jdk_library_throw(env, "the JDK's buffer pools cannot be read");
		return;
	}
	list = (*env)->CallStaticObjectMethod(env, pools.vm, pools.buffer_pools);
	if (!list || (*env)->ExceptionCheck(env))
		return;
	size = (*env)->CallIntMethod(env, list, pools.list_size);
	if ((*env)->ExceptionCheck(env))
		size = 0;
	for (jint i = 0; i < size && !(*env)->ExceptionCheck(env); i++) {
		jobject pool = (*env)->CallObjectMethod(env, list, pools.list_get, i);
		jstring name = NULL;
		const char *chars = NULL;

		if (pool && !(*env)->ExceptionCheck(env))
			name = (*env)->CallObjectMethod(env, pool, pools.pool_name);
		if (name && !(*env)->ExceptionCheck(env))
			chars = (*env)->GetStringUTFChars(env, name, NULL);
		if (chars) {
			int slot = strcmp(chars, "direct") == 0 ? 0 : strcmp(chars, "mapped") == 0 ? 1 : -1;

			(*env)->ReleaseStringUTFChars(env, name, chars);
			if (slot >= 0)
				used[slot] = (*env)->CallLongMethod(env, pool, pools.pool_used);
		}
		if (name)
			(*env)->DeleteLocalRef(env, name);
		if (pool)
			(*env)->DeleteLocalRef(env, pool);
	}
	(*env)->DeleteLocalRef(env, list);
	if (!(*env)->ExceptionCheck(env))
		(*env)->SetLongArrayRegion(env, into, 0, 2, used);
}

/* CPU time of the calling thread in ns (what ThreadMXBean.getCurrentThreadCpuTime reads on Linux); -1 if unknown. */
EXPORT(jlong, currentThreadCpuNanos0)(JNIEnv *env, jclass type)
{
	struct timespec now;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
		return -1;
	return (jlong)now.tv_sec * 1000000000 + now.tv_nsec;
}
