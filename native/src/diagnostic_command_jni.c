// SPDX-License-Identifier: Apache-2.0
/*
 * JNI export of dev.memleak4j.agent.nativelib.DiagnosticCommand: runs a diagnostic command (what jcmd runs) through
 * the JDK's own libmanagement_ext, the native side of the DiagnosticCommand MBean, without the MBean and the platform
 * MBeanServer it lives in. The library's JNI_OnLoad fetches the JVM's management interface into the library's
 * globals (the JDK's own System.loadLibrary runs it again later, to the same effect); its native method for
 * DiagnosticCommandImpl.executeDiagnosticCommand does not use its receiver. Both are exported by name in every JDK
 * the agent supports, which, unlike the management interface's table of functions, does not move between releases.
 */
#include <dlfcn.h>
#include <jni.h>

#include "jdk_library.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_nativelib_DiagnosticCommand_##name

typedef jstring (JNICALL *execute_fn)(JNIEnv *env, jobject receiver, jstring command);

/* The command's output; throws IllegalStateException when the library or its functions cannot be had. */
EXPORT(jstring, execute0)(JNIEnv *env, jclass type, jstring library, jstring command)
{
	static execute_fn execute;

	if (!execute) {
		void *handle = jdk_library_open(env, library);
		execute_fn found;

		if (!handle)
			return NULL;
		found = (execute_fn)dlsym(handle,
			"Java_com_sun_management_internal_DiagnosticCommandImpl_executeDiagnosticCommand");
		if (!found) {
			jdk_library_throw(env, "libmanagement_ext has no executeDiagnosticCommand");
			return NULL;
		}
		execute = found;
	}
	return execute(env, NULL, command);
}
