// SPDX-License-Identifier: Apache-2.0
/* JNI exports of dev.memleak4j.agent.bpf.NativeThreads: the calling thread's kernel id and scheduling priority. */
#define _GNU_SOURCE
#include <errno.h>
#include <jni.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_bpf_NativeThreads_##name

/*
 * Nice 10 for the calling thread (Linux nice values are per thread): the reporter's work (reading maps,
 * symbolizing) then yields to the application's threads whenever they compete for a CPU.
 */
#define BACKGROUND_NICE 10

EXPORT(jint, currentId0)(JNIEnv *env, jclass type)
{
	return (jint)syscall(SYS_gettid);
}

EXPORT(jboolean, runCurrentInBackground0)(JNIEnv *env, jclass type)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int current;

	errno = 0;
	current = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno)
		return JNI_FALSE;
	return current >= BACKGROUND_NICE || setpriority(PRIO_PROCESS, (id_t)tid, BACKGROUND_NICE) == 0;
}

/*
 * Back to the application's priority (that of the process's first thread) for the exit report: the JVM's exit waits
 * for it, so yielding to threads still compiling or collecting would only make the exit later. Lowering a nice value
 * needs CAP_SYS_NICE (or RLIMIT_NICE); without it the thread stays where it was.
 */
EXPORT(jboolean, runCurrentInForeground0)(JNIEnv *env, jclass type)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int application;

	errno = 0;
	application = getpriority(PRIO_PROCESS, (id_t)getpid());
	if (errno)
		return JNI_FALSE;
	return setpriority(PRIO_PROCESS, (id_t)tid, application) == 0;
}
