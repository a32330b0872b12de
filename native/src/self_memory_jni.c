/*
 * JNI export of dev.memleak4j.agent.stacks.WalkedStackTrimmer.SelfMemory: bytes of this process's memory, read with
 * process_vm_readv (safe_read), so that an address that is not mapped is an error to read, never a fault.
 *
 * In C rather than through /proc/self/mem and a FileChannel: a report reads the bytes before hundreds of return
 * addresses, and each FileChannel read runs some thirty JDK methods (the channel's interruption bookkeeping, a
 * temporary direct buffer, the copy into the heap buffer). The JIT compiles them into the application's code cache,
 * where every full GC of the application walks them for as long as the JVM runs.
 */
#include <jni.h>
#include <stdint.h>

#include "jvm_vmstructs.h"

/* The reader asks for the few bytes of a call instruction: anything much longer is a caller's mistake. */
#define MAX_READ 4096

JNIEXPORT jbyteArray JNICALL Java_dev_memleak4j_agent_stacks_WalkedStackTrimmer_00024SelfMemory_read0(
        JNIEnv *env, jclass cls, jlong address, jint length) {
    (void)cls;
    if (length < 0 || length > MAX_READ) {
        return NULL;
    }
    jbyte bytes[MAX_READ];
    if (safe_read(bytes, (uintptr_t)address, (size_t)length) != 0) {
        return NULL;
    }
    jbyteArray out = (*env)->NewByteArray(env, length);
    if (out != NULL) {
        (*env)->SetByteArrayRegion(env, out, 0, length, bytes);
    }
    return out;
}
