/*
 * Tells the kernel side how to walk a thread's Java frames from its frame anchor (bpf/memleak.bpf.c, walk_with_anchor):
 * HotSpot's layout (offsets from VMStructs, the code heaps) and, per thread id, the JavaThread. The threads alive
 * when the probes start are found through JVMTI GetAllThreads (their OS thread id from OSThread::_thread_id); threads
 * started later tell it themselves from JVMTI ThreadStart, and ThreadEnd takes them out again. Both callbacks run on
 * the thread concerned and cost one BPF map update each.
 */
#define _GNU_SOURCE
#include "jvm_anchor.h"

#include "bpf_tracker.h"
#include "jvm_continuations.h"
#include "jvm_frame_walk.h"
#include "jvm_vmstructs.h"

#include <jvmti.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static jvmtiEnv *jvmti;
static jfieldID eetop;
static long thread_osthread, osthread_thread_id;
static char note[512];

static void JNICALL on_thread_start(jvmtiEnv *ti, JNIEnv *env, jthread thread) {
    jlong java_thread = (*env)->GetLongField(env, thread, eetop);
    if (java_thread != 0) {
        tracker_set_java_thread((uint32_t)syscall(SYS_gettid), (uint64_t)java_thread, true);
    }
}

static void JNICALL on_thread_end(jvmtiEnv *ti, JNIEnv *env, jthread thread) {
    tracker_set_java_thread((uint32_t)syscall(SYS_gettid), 0, false);
}

/* Once per JVM: a JVMTI environment of our own with the thread events on. */
static int start_events(JNIEnv *env, char *err, size_t err_len) {
    if (jvmti != NULL) {
        return 0;
    }
    JavaVM *vm = NULL;
    jvmtiEnv *ti = NULL;
    if ((*env)->GetJavaVM(env, &vm) != 0 || vm == NULL
        || (*vm)->GetEnv(vm, (void **)&ti, JVMTI_VERSION_1_2) != JNI_OK || ti == NULL) {
        snprintf(err, err_len, "this JVM offers no JVMTI environment");
        return -1;
    }
    jclass thread_class = (*env)->FindClass(env, "java/lang/Thread");
    eetop = thread_class != NULL ? (*env)->GetFieldID(env, thread_class, "eetop", "J") : NULL;
    if (eetop == NULL) {
        (*env)->ExceptionClear(env);
        (*ti)->DisposeEnvironment(ti);
        snprintf(err, err_len, "java.lang.Thread has no eetop field");
        return -1;
    }
    if ((vmstructs_field("JavaThread", "_osthread", &thread_osthread, NULL) != 0
         && vmstructs_field("Thread", "_osthread", &thread_osthread, NULL) != 0)
        || vmstructs_field("OSThread", "_thread_id", &osthread_thread_id, NULL) != 0) {
        (*ti)->DisposeEnvironment(ti);
        snprintf(err, err_len, "VMStructs has no Thread::_osthread or OSThread::_thread_id");
        return -1;
    }
    jvmtiEventCallbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.ThreadStart = on_thread_start;
    callbacks.ThreadEnd = on_thread_end;
    if ((*ti)->SetEventCallbacks(ti, &callbacks, (jint)sizeof(callbacks)) != JVMTI_ERROR_NONE
        || (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_THREAD_START, NULL) != JVMTI_ERROR_NONE
        || (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_THREAD_END, NULL) != JVMTI_ERROR_NONE) {
        (*ti)->DisposeEnvironment(ti);
        snprintf(err, err_len, "JVMTI thread start and end events are not available");
        return -1;
    }
    jvmti = ti;
    return 0;
}

/* The threads alive now (events cover those that start from here on). Returns how many were registered. */
static int register_live_threads(JNIEnv *env) {
    jint count = 0;
    jthread *threads = NULL;
    int registered = 0;
    if ((*jvmti)->GetAllThreads(jvmti, &count, &threads) != JVMTI_ERROR_NONE) {
        return 0;
    }
    for (jint i = 0; i < count; i++) {
        uintptr_t java_thread = (uintptr_t)(*env)->GetLongField(env, threads[i], eetop), osthread = 0;
        int32_t tid = 0;
        if (java_thread != 0 && safe_read(&osthread, java_thread + thread_osthread, sizeof(osthread)) == 0
            && osthread != 0 && safe_read(&tid, osthread + osthread_thread_id, sizeof(tid)) == 0 && tid > 0
            && tracker_set_java_thread((uint32_t)tid, java_thread, true) == 0) {
            registered++;
        }
        (*env)->DeleteLocalRef(env, threads[i]);
    }
    (*jvmti)->Deallocate(jvmti, (unsigned char *)threads);
    return registered;
}

int jvm_anchor_start(JNIEnv *env, char *err, size_t err_len) {
    struct jvm_layout layout;
    char why[256];
    pthread_mutex_lock(&lock);
    int result = -1;
    note[0] = '\0';
    if (jvm_frame_walk_layout(env, &layout, err, err_len) == 0 && start_events(env, err, err_len) == 0) {
        if (jvm_continuations_layout(env, &layout, why, sizeof(why)) < 0) {
            snprintf(note, sizeof(note), "stacks from virtual threads that ran again after parking (a sleep, "
                     "I/O, a lock) may end early, where their callers are still frozen in the heap: %s", why);
        }
        if (tracker_set_jvm_layout(&layout) != 0) {
            snprintf(err, err_len, "BPF programs are not loaded");
        } else {
            result = register_live_threads(env);
        }
    }
    pthread_mutex_unlock(&lock);
    return result;
}

const char *jvm_anchor_note(void) {
    return note[0] != '\0' ? note : NULL;
}
