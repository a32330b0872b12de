/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JDK's own native libraries (libmanagement, libmanagement_ext), opened so that the agent can call the JNI
 * functions they export for the JDK's management classes without those classes (diagnostic_command_jni.c,
 * jvm_management_jni.c).
 */
#ifndef MEMLEAK4J_JDK_LIBRARY_H
#define MEMLEAK4J_JDK_LIBRARY_H

#include <jni.h>

/*
 * Opens the library at {@code path} and runs its JNI_OnLoad, which fetches the JVM's management interface into the
 * library's globals (the JDK's own System.loadLibrary runs it again later, to the same effect). Its dlopen handle, or
 * NULL with an exception pending.
 */
void *jdk_library_open(JNIEnv *env, jstring path);

/* Throws IllegalStateException with {@code message}. */
void jdk_library_throw(JNIEnv *env, const char *message);

#endif
