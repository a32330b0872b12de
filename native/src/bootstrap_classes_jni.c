// SPDX-License-Identifier: Apache-2.0
/* JNI export of dev.memleak4j.agent.jnimarks.BootstrapClasses (see there for why classes are defined this way). */
#include <jni.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_jnimarks_BootstrapClasses_##name

/* JNI DefineClass with no loader; false when the class could not be defined (its exception is cleared). */
EXPORT(jboolean, define0)(JNIEnv *env, jclass type, jstring name, jbyteArray bytes)
{
	const char *internal_name;
	jbyte *data;
	jsize length;
	jclass defined;

	if (!name || !bytes || !(internal_name = (*env)->GetStringUTFChars(env, name, NULL)))
		return JNI_FALSE;
	length = (*env)->GetArrayLength(env, bytes);
	data = (*env)->GetByteArrayElements(env, bytes, NULL);
	defined = data ? (*env)->DefineClass(env, internal_name, NULL, data, length) : NULL;
	if (data)
		(*env)->ReleaseByteArrayElements(env, bytes, data, JNI_ABORT);
	(*env)->ReleaseStringUTFChars(env, name, internal_name);
	if (!defined) {
		(*env)->ExceptionClear(env);
		return JNI_FALSE;
	}
	(*env)->DeleteLocalRef(env, defined);
	return JNI_TRUE;
}
