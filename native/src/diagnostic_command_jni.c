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

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_nativelib_DiagnosticCommand_##name

typedef jint (JNICALL *on_load_fn)(JavaVM *vm, void *reserved);
typedef jstring (JNICALL *execute_fn)(JNIEnv *env, jobject receiver, jstring command);

static void throw_state(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, "java/lang/IllegalStateException");

	if (type)
		(*env)->ThrowNew(env, type, message);
}

/* The command's output; throws IllegalStateException when the library or its functions cannot be had. */
EXPORT(jstring, execute0)(JNIEnv *env, jclass type, jstring library, jstring command)
{
	static execute_fn execute;
	const char *path;
	void *handle;
	on_load_fn on_load;
	JavaVM *vm;

	if (!execute) {
		if (!library || !(path = (*env)->GetStringUTFChars(env, library, NULL)))
			return NULL;
		handle = dlopen(path, RTLD_LAZY);
		(*env)->ReleaseStringUTFChars(env, library, path);
		if (!handle) {
			const char *error = dlerror();

			throw_state(env, error ? error : "dlopen failed");
			return NULL;
		}
		on_load = (on_load_fn)dlsym(handle, "JNI_OnLoad");
		execute_fn found = (execute_fn)dlsym(handle,
			"Java_com_sun_management_internal_DiagnosticCommandImpl_executeDiagnosticCommand");
		if (!on_load || !found) {
			throw_state(env, "libmanagement_ext has no JNI_OnLoad or executeDiagnosticCommand");
			return NULL;
		}
		if ((*env)->GetJavaVM(env, &vm) != JNI_OK || on_load(vm, NULL) < 0 || (*env)->ExceptionCheck(env)) {
			if (!(*env)->ExceptionCheck(env))
				throw_state(env, "libmanagement_ext did not initialize");
			return NULL;
		}
		execute = found;
	}
	return execute(env, NULL, command);
}
