// SPDX-License-Identifier: Apache-2.0
/* See jdk_library.h. */
#include <dlfcn.h>

#include "jdk_library.h"

typedef jint (JNICALL *on_load_fn)(JavaVM *vm, void *reserved);

void jdk_library_throw(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, "java/lang/IllegalStateException");

	if (type)
		(*env)->ThrowNew(env, type, message);
}

void *jdk_library_open(JNIEnv *env, jstring path)
{
	const char *chars;
	void *handle;
	on_load_fn on_load;
	JavaVM *vm;

	if (!path || !(chars = (*env)->GetStringUTFChars(env, path, NULL)))
		return NULL;
	handle = dlopen(chars, RTLD_LAZY);
	(*env)->ReleaseStringUTFChars(env, path, chars);
	if (!handle) {
		const char *error = dlerror();

		jdk_library_throw(env, error ? error : "dlopen failed");
		return NULL;
	}
	on_load = (on_load_fn)dlsym(handle, "JNI_OnLoad");
	if (!on_load) {
		jdk_library_throw(env, "the JDK's library has no JNI_OnLoad");
		return NULL;
	}
	if ((*env)->GetJavaVM(env, &vm) != JNI_OK || on_load(vm, NULL) < 0 || (*env)->ExceptionCheck(env)) {
		if (!(*env)->ExceptionCheck(env))
			jdk_library_throw(env, "the JDK's library did not initialize");
		return NULL;
	}
	return handle;
}
