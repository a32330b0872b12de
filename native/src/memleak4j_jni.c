// SPDX-License-Identifier: Apache-2.0
/*
 * JNI exports of dev.memleak4j.agent.bpf.BpfNative, the tracker's binding. Each one checks its arguments, calls
 * into bpf_tracker.c, and turns a failure into a BpfException whose message tells the user what went wrong.
 */
#include <errno.h>
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_tracker.h"
#include "jvm_anchor.h"

#define EXPORT(ret, name) JNIEXPORT ret JNICALL Java_dev_memleak4j_agent_bpf_BpfNative_##name
#define EXCEPTION_CLASS "dev/memleak4j/agent/bpf/BpfException"

static void throw_bpf_exception(JNIEnv *env, const char *message)
{
	jclass type = (*env)->FindClass(env, EXCEPTION_CLASS);

	if (type)
		(*env)->ThrowNew(env, type, message);
}

static jlong narrow_to_u32(jlong value)
{
	return value < 0 ? 0 : value > UINT32_MAX ? UINT32_MAX : value;
}

/* getpid(): the process id the tracker filters on, without java.lang.ProcessHandle (see BpfTracker.processId). */
EXPORT(jint, pid0)(JNIEnv *env, jclass type)
{
	return (jint)getpid();
}

EXPORT(void, open0)(JNIEnv *env, jclass type, jint tgid, jlong max_allocs, jlong max_stacks, jlong max_combined,
	      jlong max_threads, jboolean verbose, jboolean hooks, jboolean sessions)
{
	struct tracker_config config = {
		.tgid = (uint32_t)tgid,
		.max_allocs = (uint32_t)narrow_to_u32(max_allocs),
		.max_stacks = (uint32_t)narrow_to_u32(max_stacks),
		.max_combined = (uint32_t)narrow_to_u32(max_combined),
		.max_threads = (uint32_t)narrow_to_u32(max_threads),
		.verbose = verbose,
		.hooks = hooks,
		.sessions = sessions,
	};
	char err[768];

	if (tracker_open(&config, err, sizeof(err)))
		throw_bpf_exception(env, err);
}

/* What attaching to one function of a binary does: a classic probe or a uprobe session. */
typedef int (*attach_fn)(const char *binary, uint64_t file_offset, int func, bool retprobe, char *err,
			 size_t err_len);

static int attach_classic(const char *binary, uint64_t file_offset, int func, bool retprobe, char *err,
			  size_t err_len)
{
	return tracker_attach(binary, file_offset, func, retprobe, err, err_len);
}

static int attach_session(const char *binary, uint64_t file_offset, int func, bool retprobe, char *err,
			  size_t err_len)
{
	return tracker_attach_session(binary, file_offset, func, err, err_len);
}

/* Checks the arguments, holds the path while attaching, and turns a failure into a BpfException. */
static void attach_with(JNIEnv *env, attach_fn attach, jstring binary, jlong file_offset, jint func,
			bool retprobe)
{
	const char *path;
	char err[768];
	int error;

	if (!binary || file_offset < 0) {
		throw_bpf_exception(env, "attach: no binary or a negative offset");
		return;
	}
	path = (*env)->GetStringUTFChars(env, binary, NULL);
	if (!path)
		return; /* OutOfMemoryError pending */
	error = attach(path, (uint64_t)file_offset, func, retprobe, err, sizeof(err));
	(*env)->ReleaseStringUTFChars(env, binary, path);
	if (error)
		throw_bpf_exception(env, err);
}

EXPORT(void, attach0)(JNIEnv *env, jclass type, jstring binary, jlong file_offset, jint func, jboolean retprobe)
{
	attach_with(env, attach_classic, binary, file_offset, func, retprobe);
}

EXPORT(void, attachSession0)(JNIEnv *env, jclass type, jstring binary, jlong file_offset, jint func)
{
	attach_with(env, attach_session, binary, file_offset, func, false);
}

EXPORT(jboolean, sessions0)(JNIEnv *env, jclass type)
{
	return tracker_sessions();
}

EXPORT(void, close0)(JNIEnv *env, jclass type)
{
	tracker_close();
}

EXPORT(void, releaseProbes0)(JNIEnv *env, jclass type)
{
	tracker_release_probes();
}

EXPORT(void, awaitRelease0)(JNIEnv *env, jclass type)
{
	tracker_await_release();
}

EXPORT(jboolean, isOpen0)(JNIEnv *env, jclass type)
{
	return tracker_is_open();
}

EXPORT(jint, attachedCount0)(JNIEnv *env, jclass type)
{
	return tracker_attached_count();
}

/* Writes each chunk of records straight into the Java array. */
struct java_array_sink {
	struct record_sink sink;
	JNIEnv *env;
	jlongArray out;
	size_t words;
};

static void write_to_java_array(struct record_sink *sink, size_t index, const uint64_t *records, size_t count)
{
	struct java_array_sink *self = (struct java_array_sink *)sink;

	if (count)
		(*self->env)->SetLongArrayRegion(self->env, self->out, (jsize)(index * self->words),
						 (jsize)(count * self->words), (const jlong *)records);
}

/* Fills a long[] with records of `words` longs each; returns records, or a negative number if it is too small. */
static jint read_records(JNIEnv *env, jlongArray out, size_t words, long (*reader)(struct record_sink *, size_t))
{
	struct java_array_sink sink = { { write_to_java_array }, env, out, words };
	jsize length = (*env)->GetArrayLength(env, out);
	long n = reader(&sink.sink, (size_t)length / words);

	return n < INT32_MIN ? INT32_MIN : n > INT32_MAX ? INT32_MAX : (jint)n;
}

/*
 * Hands each chunk of records to Java as it is read: copied to the start of one reused long[], then
 * consumer.accept(count). Java then holds one chunk, not every outstanding allocation at once.
 */
struct java_callback_sink {
	struct record_sink sink;
	JNIEnv *env;
	jlongArray chunk;
	jsize chunk_records;
	jobject consumer;
	jmethodID accept;
	size_t words;
	bool failed;
};

static void call_java(struct record_sink *sink, size_t index, const uint64_t *records, size_t count)
{
	struct java_callback_sink *self = (struct java_callback_sink *)sink;
	JNIEnv *env = self->env;

	while (count > 0 && !self->failed) {
		jsize n = count < (size_t)self->chunk_records ? (jsize)count : self->chunk_records;

		(*env)->SetLongArrayRegion(env, self->chunk, 0, n * (jsize)self->words, (const jlong *)records);
		(*env)->CallVoidMethod(env, self->consumer, self->accept, n);
		self->failed = (*env)->ExceptionCheck(env); /* thrown on to Java once the read is over */
		records += (size_t)n * self->words;
		count -= (size_t)n;
	}
}

EXPORT(jlong, forEachAllocationChunk0)(JNIEnv *env, jclass type, jlongArray chunk, jobject consumer)
{
	jclass consumer_type = (*env)->GetObjectClass(env, consumer);
	struct java_callback_sink sink = { { call_java }, env, chunk,
					   (*env)->GetArrayLength(env, chunk) / ALLOC_RECORD_WORDS, consumer,
					   (*env)->GetMethodID(env, consumer_type, "accept", "(I)V"), ALLOC_RECORD_WORDS,
					   false };

	if (!sink.accept || sink.chunk_records <= 0)
		return 0; /* NoSuchMethodError pending, or no room: nothing read */
	return tracker_read_allocs(&sink.sink, SIZE_MAX);
}

EXPORT(jint, readCombined0)(JNIEnv *env, jclass type, jlongArray out)
{
	return read_records(env, out, COMBINED_RECORD_WORDS, tracker_read_combined);
}

EXPORT(jint, readStack0)(JNIEnv *env, jclass type, jlong stack_id, jlongArray out)
{
	uint64_t frames[128];
	jsize length = (*env)->GetArrayLength(env, out);
	int n = tracker_read_stack((uint64_t)stack_id, frames, length < 128 ? (size_t)length : 128);

	if (n > 0)
		(*env)->SetLongArrayRegion(env, out, 0, n, (const jlong *)frames);
	return n;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Calls use with the stack ids of the Java array, sorted as the kernel's ids sort (unsigned). */
static jlong with_sorted_ids(JNIEnv *env, jlongArray ids, jboolean flag,
			     long (*use)(const uint64_t *ids, size_t n, bool flag))
{
	jsize n = (*env)->GetArrayLength(env, ids);
	jlong *elements = (*env)->GetLongArrayElements(env, ids, NULL);
	long result;

	if (!elements)
		return 0; /* OutOfMemoryError pending */
	qsort(elements, (size_t)n, sizeof(*elements), compare_u64);
	result = use((const uint64_t *)elements, (size_t)n, flag);
	(*env)->ReleaseLongArrayElements(env, ids, elements, JNI_ABORT);
	return result;
}

static long settle(const uint64_t *referenced, size_t n, bool unused)
{
	return tracker_settle_forgotten_stacks(referenced, n);
}

EXPORT(jlong, forgetStacks0)(JNIEnv *env, jclass type, jlongArray ids, jboolean counters)
{
	return with_sorted_ids(env, ids, counters, tracker_forget_stacks);
}

EXPORT(jlong, settleForgottenStacks0)(JNIEnv *env, jclass type, jlongArray referenced)
{
	return with_sorted_ids(env, referenced, false, settle);
}

EXPORT(void, readStats0)(JNIEnv *env, jclass type, jlongArray out)
{
	uint64_t stats[64];
	jsize length = (*env)->GetArrayLength(env, out);
	size_t count = length < 64 ? (size_t)length : 64;

	tracker_read_stats(stats, count);
	(*env)->SetLongArrayRegion(env, out, 0, (jsize)count, (const jlong *)stats);
}

EXPORT(void, setTuning0)(JNIEnv *env, jclass type, jlong sample_rate, jlong sample_bytes, jlong min_size, jlong max_size,
			 jboolean enabled)
{
	int error = tracker_set_tuning((uint64_t)sample_rate, (uint64_t)sample_bytes, (uint64_t)min_size,
				       (uint64_t)max_size, enabled);

	if (error == -ENOSPC)
		throw_bpf_exception(env, "the sampling was changed to 255 different settings since the start; "
					 "restart the agent (detach, attach) to change it again");
	else if (error)
		throw_bpf_exception(env, "sample-rate and sample-bytes must be below 2^31");
}

EXPORT(void, setInterpreterRange0)(JNIEnv *env, jclass type, jlong start, jlong end)
{
	tracker_set_interpreter((uint64_t)start, (uint64_t)end);
}

/* Starts the kernel side's walk of Java frames from the frame anchor; returns the threads registered. */
EXPORT(jint, startAnchorWalk0)(JNIEnv *env, jclass type)
{
	char err[256];
	int threads = jvm_anchor_start(env, err, sizeof(err));

	if (threads < 0)
		throw_bpf_exception(env, err);
	return threads;
}

/* What the walk from the frame anchor leaves out on this JVM, or null. */
EXPORT(jstring, anchorWalkNote0)(JNIEnv *env, jclass type)
{
	const char *note = jvm_anchor_note();

	return note ? (*env)->NewStringUTF(env, note) : NULL;
}

EXPORT(void, ignoreThread0)(JNIEnv *env, jclass type, jint tid, jboolean ignore)
{
	if (tracker_ignore_thread((uint32_t)tid, ignore) && ignore)
		throw_bpf_exception(env, "could not register an agent thread (ignored_threads map full)");
}

/* The jni_marks array as a direct buffer of 16 bytes per slot (mark, hit); throws when it cannot be mapped. */
EXPORT(jobject, mapJniMarks0)(JNIEnv *env, jclass type)
{
	char err[768];
	size_t slots;
	void *memory = tracker_map_jni_marks(&slots, err, sizeof(err));

	if (!memory) {
		throw_bpf_exception(env, err);
		return NULL;
	}
	return (*env)->NewDirectByteBuffer(env, memory, (jlong)(slots * 16));
}

EXPORT(jboolean, setThreadSlot0)(JNIEnv *env, jclass type, jint tid, jint slot, jboolean set)
{
	return tracker_set_thread_slot((uint32_t)tid, (uint32_t)slot, set) == 0;
}

EXPORT(jlong, mapMemoryBytes0)(JNIEnv *env, jclass type)
{
	return (jlong)tracker_map_memory();
}
