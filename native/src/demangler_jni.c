// SPDX-License-Identifier: Apache-2.0
/* JNI export of dev.memleak4j.agent.symbols.Demangler over demangle.c. */
#include <jni.h>
#include <stdlib.h>

#include "demangle.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_symbols_Demangler_##name

/* The demangled name, or null when the name is not a C++ name or no C++ runtime is there. */
EXPORT(jstring, demangle0)(JNIEnv *env, jclass type, jstring mangled)
{
	const char *name;
	char *plain;
	jstring result = NULL;

	if (!mangled || !(name = (*env)->GetStringUTFChars(env, mangled, NULL)))
		return NULL;
	plain = demangle(name);
	(*env)->ReleaseStringUTFChars(env, mangled, name);
	if (plain) {
		result = (*env)->NewStringUTF(env, plain);
		free(plain);
	}
	return result;
}
