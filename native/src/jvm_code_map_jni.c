/*
 * JNI exports of dev.memleak4j.agent.stacks.JvmCodeMap: the live code map (jvm_code_map.c) and the Method*
 * resolution through VMStructs (jvm_vmstructs.c). Kept apart from memleak4j_jni.c, the BPF side's exports.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jvm_code_map.h"
#include "jvm_frame_walk.h"
#include "jvm_vmstructs.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_stacks_JvmCodeMap_##name

#define METHOD_TAG (1ULL << 62)
#define MAX_NAME 8192

/* Returns null, or why the code map could not start. */
EXPORT(jstring, start0)(JNIEnv *env, jclass cls, jboolean jvmti_only) {
    (void)cls;
    char err[256];
    err[0] = '\0';
    vmstructs_init(env, NULL, 0);  /* optional here: resolveMethod0 reports its own failure */
    if (jvm_code_map_start(env, jvmti_only == JNI_TRUE, err, sizeof(err)) != 0) {
        return (*env)->NewStringUTF(env, err);
    }
    return NULL;
}

/* How compiled frames are named, for verbose output. */
EXPORT(jstring, naming0)(JNIEnv *env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, jvm_code_map_naming());
}

EXPORT(jboolean, started0)(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return jvm_code_map_started() ? JNI_TRUE : JNI_FALSE;
}

/* Returns null when VMStructs can be used, else why not. */
EXPORT(jstring, initVmStructs0)(JNIEnv *env, jclass cls) {
    (void)cls;
    char err[256];
    if (vmstructs_init(env, err, sizeof(err)) != 0) {
        return (*env)->NewStringUTF(env, err);
    }
    return NULL;
}

/*
 * Frames at pc, innermost first: kinds[i] (0 JIT, 1 INLINED, 2 STUB, 3 NATIVE_WRAPPER), lines[i] (-1 unknown),
 * names[i] ("pkg.Class.method", or the stub's name; null when unknown) and files[i] (source file or null).
 * Returns how many, 0 when pc is in no known code.
 */
EXPORT(jint, lookup0)(JNIEnv *env, jclass cls, jlong pc, jintArray kinds, jintArray lines, jobjectArray names,
                      jobjectArray files) {
    (void)cls;
    jsize capacity = (*env)->GetArrayLength(env, kinds);
    if ((*env)->GetArrayLength(env, lines) < capacity) {
        capacity = (*env)->GetArrayLength(env, lines);
    }
    if ((*env)->GetArrayLength(env, names) < capacity) {
        capacity = (*env)->GetArrayLength(env, names);
    }
    if ((*env)->GetArrayLength(env, files) < capacity) {
        capacity = (*env)->GetArrayLength(env, files);
    }
    if (capacity > 256) {
        capacity = 256;
    }
    struct code_frame frames[256];
    int n = jvm_code_map_lookup(env, (uintptr_t)pc, frames, capacity);
    char name[MAX_NAME];
    for (int i = 0; i < n; i++) {
        jint kind = frames[i].kind, line = frames[i].line;
        (*env)->SetIntArrayRegion(env, kinds, i, 1, &kind);
        (*env)->SetIntArrayRegion(env, lines, i, 1, &line);
        jstring text = NULL;
        if (frames[i].name != NULL) {
            if (frames[i].class_name != NULL) {
                snprintf(name, sizeof(name), "%s.%s", frames[i].class_name, frames[i].name);
            } else {
                snprintf(name, sizeof(name), "%s", frames[i].name);
            }
            text = (*env)->NewStringUTF(env, name);
            if (text == NULL) {
                return -1;  /* OutOfMemoryError pending */
            }
        }
        (*env)->SetObjectArrayElement(env, names, i, text);
        if (text != NULL) {
            (*env)->DeleteLocalRef(env, text);
        }
        jstring file = NULL;
        if (frames[i].source_file != NULL) {
            file = (*env)->NewStringUTF(env, frames[i].source_file);
            if (file == NULL) {
                return -1;
            }
        }
        (*env)->SetObjectArrayElement(env, files, i, file);
        if (file != NULL) {
            (*env)->DeleteLocalRef(env, file);
        }
    }
    return n;
}

/* What pc is, without naming it (jvm_code_map_classify): 1 compiled Java code, 2 a stub, 0 neither, -1 unknown. */
EXPORT(jint, classify0)(JNIEnv *env, jclass cls, jlong pc) {
    (void)env;
    (void)cls;
    return jvm_code_map_classify((uintptr_t)pc);
}

/* This thread's Java frames, innermost first: out[2i] the jmethodID, out[2i + 1] the bytecode index. -1: no JVMTI. */
EXPORT(jint, captureJavaStack0)(JNIEnv *env, jclass cls, jlongArray out) {
    (void)cls;
    uint64_t methods[JVM_CODE_MAP_MAX_CAPTURE];
    int64_t locations[JVM_CODE_MAP_MAX_CAPTURE];
    jlong pairs[2 * JVM_CODE_MAP_MAX_CAPTURE];
    int n = jvm_code_map_capture((*env)->GetArrayLength(env, out) / 2, methods, locations);
    for (int i = 0; i < n; i++) {
        pairs[2 * i] = (jlong)methods[i];
        pairs[2 * i + 1] = (jlong)locations[i];
    }
    if (n > 0) {
        (*env)->SetLongArrayRegion(env, out, 0, 2 * n, pairs);
    }
    return n;
}

/* Returns null, or why this JVM's Java frames cannot be walked here (then every JNI-mark capture uses JVMTI). */
EXPORT(jstring, initFrameWalk0)(JNIEnv *env, jclass cls) {
    (void)cls;
    char err[256];
    if (jvm_frame_walk_init(env, err, sizeof(err)) == 0) {
        return NULL;
    }
    return (*env)->NewStringUTF(env, err);
}

/*
 * The key of the calling thread's Java call path (jvm_frame_walk): out[0] is the garbage collection count the key
 * is valid in when it holds an interpreted frame's Method*, -1 when it is valid for good; frames from out[1], two
 * words each. Returns how many frames, or -1 when there is no key.
 */
EXPORT(jint, walkJavaStack0)(JNIEnv *env, jclass cls, jobject thread, jlongArray out) {
    (void)cls;
    uint64_t words[2 * JVM_CODE_MAP_MAX_CAPTURE];
    int max = ((*env)->GetArrayLength(env, out) - 1) / 2, interpreted = 0;
    if (max > JVM_CODE_MAP_MAX_CAPTURE) {
        max = JVM_CODE_MAP_MAX_CAPTURE;
    }
    int n = max > 0 ? jvm_frame_walk(env, thread, words, max, &interpreted) : -1;
    if (n <= 0) {
        return -1;
    }
    jlong epoch = interpreted ? (jlong)jvm_code_map_gc_count() : -1;
    if (interpreted && epoch < 0) {
        return -1; /* no collection events: a Method* key could outlive its class */
    }
    (*env)->SetLongArrayRegion(env, out, 0, 1, &epoch);
    (*env)->SetLongArrayRegion(env, out, 1, 2 * n, (const jlong *)words);
    return n;
}

/* A report's pass of reads of the JVM's memory begins (true) or ends (false): see safe_read_pass_begin. */
EXPORT(void, readPass0)(JNIEnv *env, jclass cls, jboolean begin) {
    (void)env;
    (void)cls;
    if (begin) {
        safe_read_pass_begin();
    } else {
        safe_read_pass_end();
    }
}

EXPORT(jlong, gcCount0)(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)jvm_code_map_gc_count();
}

/* A captured frame: names[0] = "pkg.Class.method", names[1] = its source file or null; returns the line (-1
 * unknown), or -2 when the method cannot be named (its class unloaded). */
EXPORT(jint, describeJavaFrame0)(JNIEnv *env, jclass cls, jlong method, jlong location, jobjectArray names) {
    (void)cls;
    struct code_frame frame;
    char name[MAX_NAME];
    if (jvm_code_map_describe((uint64_t)method, (int64_t)location, &frame) != 0) {
        return -2;
    }
    snprintf(name, sizeof(name), "%s.%s", frame.class_name, frame.name);
    jstring text = (*env)->NewStringUTF(env, name);
    jstring file = frame.source_file != NULL ? (*env)->NewStringUTF(env, frame.source_file) : NULL;
    if (text == NULL || (frame.source_file != NULL && file == NULL)) {
        return -2;  /* OutOfMemoryError pending */
    }
    (*env)->SetObjectArrayElement(env, names, 0, text);
    (*env)->SetObjectArrayElement(env, names, 1, file);
    return frame.line;
}

/* "pkg.Class.method" of a HotSpot Method* (the tag bit 62 is ignored), or null. */
EXPORT(jstring, resolveMethod0)(JNIEnv *env, jclass cls, jlong method) {
    (void)cls;
    if (vmstructs_init(env, NULL, 0) != 0) {
        return NULL;
    }
    char name[MAX_NAME];
    if (vmstructs_resolve_method((uintptr_t)method & ~(uintptr_t)METHOD_TAG, name, sizeof(name)) < 0) {
        return NULL;
    }
    return (*env)->NewStringUTF(env, name);
}

/*
 * An interpreted frame's method (Method*): names[0] = "pkg.Class.method"; returns {code size, then (bytecode index,
 * line) pairs of its line table when lines is true}, or null when the method cannot be named (names[0] stays null).
 */
EXPORT(jintArray, interpretedMethod0)(JNIEnv *env, jclass cls, jlong method, jobjectArray names, jboolean lines) {
    (void)cls;
    char name[MAX_NAME];
    int code_size = 0;
    const struct line_entry *table = NULL;
    uint32_t count = 0;
    if (vmstructs_init(env, NULL, 0) != 0
        || jvm_code_map_interpreted_method(env, (uintptr_t)method, name, sizeof(name), &code_size,
                                           lines ? &table : NULL, &count) < 0) {
        return NULL;
    }
    jstring text = (*env)->NewStringUTF(env, name);
    if (text == NULL || count > (INT32_MAX - 1) / 2) {
        return NULL;
    }
    (*env)->SetObjectArrayElement(env, names, 0, text);
    jintArray out = (*env)->NewIntArray(env, (jsize)(1 + 2 * count));
    if (out == NULL) {
        return NULL; /* OutOfMemoryError pending */
    }
    jint size = code_size;
    (*env)->SetIntArrayRegion(env, out, 0, 1, &size);
    if (count > 0) {
        _Static_assert(sizeof(struct line_entry) == 2 * sizeof(jint), "a line entry is two jints");
        (*env)->SetIntArrayRegion(env, out, 1, (jsize)(2 * count), (const jint *)table);
    }
    return out;
}

/* {start, end} of the interpreter's code, from VMStructs, else from DynamicCodeGenerated; or null. */
EXPORT(jlongArray, interpreterRange0)(JNIEnv *env, jclass cls) {
    (void)cls;
    uintptr_t start = 0, end = 0;
    int found = vmstructs_init(env, NULL, 0) == 0 && vmstructs_interpreter_range(&start, &end) == 0;
    if (!found) {
        found = jvm_code_map_interpreter(&start, &end);
    }
    if (!found) {
        return NULL;
    }
    jlongArray out = (*env)->NewLongArray(env, 2);
    if (out != NULL) {
        jlong values[2] = {(jlong)start, (jlong)end};
        (*env)->SetLongArrayRegion(env, out, 0, 2, values);
    }
    return out;
}

/* Live [start, end) pairs of compiled code of "pkg.Class.method". */
EXPORT(jlongArray, codeRangesOf0)(JNIEnv *env, jclass cls, jstring qualified) {
    (void)cls;
    const char *name = (*env)->GetStringUTFChars(env, qualified, NULL);
    if (name == NULL) {
        return NULL;
    }
    uintptr_t ranges[2 * 64];
    int n = jvm_code_map_ranges_of(name, ranges, 64);
    (*env)->ReleaseStringUTFChars(env, qualified, name);
    jlongArray out = (*env)->NewLongArray(env, 2 * n);
    if (out != NULL && n > 0) {
        jlong values[2 * 64];
        for (int i = 0; i < 2 * n; i++) {
            values[i] = (jlong)ranges[i];
        }
        (*env)->SetLongArrayRegion(env, out, 0, 2 * n, values);
    }
    return out;
}

EXPORT(jlong, generation0)(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)jvm_code_map_generation();
}

EXPORT(jlongArray, stats0)(JNIEnv *env, jclass cls) {
    (void)cls;
    uint64_t stats[6];
    jvm_code_map_stats(stats);
    jlongArray out = (*env)->NewLongArray(env, 6);
    if (out != NULL) {
        jlong values[6];
        for (int i = 0; i < 6; i++) {
            values[i] = (jlong)stats[i];
        }
        (*env)->SetLongArrayRegion(env, out, 0, 6, values);
    }
    return out;
}

/*
 * The Method* HotSpot keeps behind a jmethodID (a pointer to a Method* slot up to JDK 24; JDK 25 may differ,
 * in which case the value read does not resolve). 0 when unreadable. For tests.
 */
EXPORT(jlong, methodPointerOf0)(JNIEnv *env, jclass cls, jobject executable) {
    (void)cls;
    jmethodID id = (*env)->FromReflectedMethod(env, executable);
    uintptr_t method = 0;
    if (id == NULL || safe_read(&method, (uintptr_t)id, sizeof(method)) != 0) {
        return 0;
    }
    return (jlong)method;
}

/*
 * Walks this thread's frame-pointer chain from here the way the BPF side does: the return address of each
 * frame, except that a return address into the interpreter is replaced by the interpreted caller's Method*
 * (read at [caller's fp - 3*8]) with bit 62 set. Up to max values; for tests of the interpreted path.
 */
static inline __attribute__((always_inline)) jlongArray walk_stack(JNIEnv *env, jint max) {
    jlong values[256];
    int n = 0;
    uintptr_t istart = 0, iend = 0;
    int have_interpreter = vmstructs_init(env, NULL, 0) == 0 && vmstructs_interpreter_range(&istart, &iend) == 0;
    if (!have_interpreter) {
        have_interpreter = jvm_code_map_interpreter(&istart, &iend);
    }
    if (max > 256) {
        max = 256;
    }
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    while (n < max) {
        uintptr_t next_fp = 0, ret = 0;
        if (safe_read(&next_fp, fp, sizeof(next_fp)) != 0 || safe_read(&ret, fp + 8, sizeof(ret)) != 0
            || ret == 0) {
            break;
        }
        jlong value = (jlong)ret;
        if (have_interpreter && ret >= istart && ret < iend) {
            uintptr_t method = 0;
            if (safe_read(&method, next_fp - 3 * 8, sizeof(method)) == 0 && method != 0) {
                value = (jlong)(method | METHOD_TAG);
            }
        }
        values[n++] = value;
        if (next_fp <= fp || next_fp - fp > (64u << 20) || (next_fp & 7) != 0) {
            break;
        }
        fp = next_fp;
    }
    jlongArray out = (*env)->NewLongArray(env, n);
    if (out != NULL && n > 0) {
        (*env)->SetLongArrayRegion(env, out, 0, n, values);
    }
    return out;
}

__attribute__((noinline, optimize("no-omit-frame-pointer")))
EXPORT(jlongArray, walkStack0)(JNIEnv *env, jclass cls, jint max) {
    (void)cls;
    return walk_stack(env, max);
}

/* The same walk behind another native method: tests that warm one of them up keep the other one interpreted. */
__attribute__((noinline, optimize("no-omit-frame-pointer")))
EXPORT(jlongArray, walkCompiledCallers0)(JNIEnv *env, jclass cls, jint max) {
    (void)cls;
    return walk_stack(env, max);
}
