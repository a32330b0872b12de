// SPDX-License-Identifier: Apache-2.0
/*
 * JNI export of dev.memleak4j.agent.report.ClockText: the local time zone's offset from the C library, for the
 * reports' clock while nothing in the JVM has asked for its default java.util.TimeZone (see ClockText for why).
 */
#include <jni.h>
#include <limits.h>
#include <time.h>

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_report_ClockText_##name

/*
 * Whether TimeZone's default zone is still undecided: its static field is read through JNI, which the module system
 * does not close. False when the field cannot be read (another JDK's TimeZone): the caller then asks TimeZone.
 */
EXPORT(jboolean, defaultZoneUnset0)(JNIEnv *env, jclass type)
{
	jclass zone = (*env)->FindClass(env, "java/util/TimeZone");
	jfieldID field;
	jobject current;

	if (zone == NULL) {
		(*env)->ExceptionClear(env);
		return JNI_FALSE;
	}
	field = (*env)->GetStaticFieldID(env, zone, "defaultTimeZone", "Ljava/util/TimeZone;");
	if (field == NULL) {
		(*env)->ExceptionClear(env);
		return JNI_FALSE;
	}
	current = (*env)->GetStaticObjectField(env, zone, field);
	return current == NULL ? JNI_TRUE : JNI_FALSE;
}

/* Seconds east of UTC in the C library's local zone (TZ, else /etc/localtime) at that time; LONG_MIN if unknown. */
EXPORT(jlong, offsetSeconds0)(JNIEnv *env, jclass type, jlong epochSeconds)
{
	time_t at = (time_t)epochSeconds;
	struct tm local;

	if (localtime_r(&at, &local) == NULL) {
		return LONG_MIN;
	}
	return local.tm_gmtoff;
}
