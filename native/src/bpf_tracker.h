/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libbpf side of memleak4j: loads bpf/memleak.bpf.c, attaches its probes and reads its
 * maps. No JNI here (memleak4j_jni.c wraps it). One tracker per process; callers serialize.
 */
#ifndef MEMLEAK4J_BPF_TRACKER_H
#define MEMLEAK4J_BPF_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct tracker_config {
	uint32_t tgid;          /* the process whose allocator is traced (ours) */
	uint32_t max_allocs;    /* outstanding tracked blocks: `allocs` and allocs_overflow together */
	uint32_t max_stacks;    /* capacity of `stacks` (distinct stacks) */
	uint32_t max_combined;  /* capacity of `combined` (per-stack counters) */
	uint32_t max_threads;   /* capacity of `pending` (threads inside the allocator at once) */
	bool verbose;           /* libbpf warnings to stderr */
	bool hooks;             /* probe-mode=hooks: only the probe sites' programs are loaded */
	bool sessions;          /* uprobe modes: use uprobe sessions where the kernel has them */
};

/* Values a map entry is read back as, in units of uint64_t. */
#define ALLOC_RECORD_WORDS 8    /* address, size, timestamp_ns, stack_id, func, est_bytes, est_count_milli,
				 * java_mark */
/* stack_id, bytes, count, est_bytes, est_count_milli, alloc_est_bytes, alloc_est_count_milli */
#define COMBINED_RECORD_WORDS 7

/* All return 0 or a negative errno, with a message for the user in err. */
int tracker_open(const struct tracker_config *config, char *err, size_t err_len);
int tracker_attach(const char *binary, uint64_t file_offset, int func, bool retprobe, char *err, size_t err_len);
/* One uprobe session (entry and return in one program) on an allocating function. */
int tracker_attach_session(const char *binary, uint64_t file_offset, int func, char *err, size_t err_len);
/* The probes on the in-process hooks' two probe sites (alloc_hooks.h): one program, told apart by the cookie. */
int tracker_attach_sites(const char *binary, uint64_t alloc_offset, uint64_t free_offset, char *err, size_t err_len);
/* Whether the loaded programs are the uprobe session ones. */
bool tracker_sessions(void);
/*
 * Detaching every probe in two steps, for the JVM's exit (see the .c file): release starts it and returns at once;
 * await waits until it is done, which the process's exit must, and may be called beside the other functions (the
 * maps stay readable until tracker_close).
 */
void tracker_release_probes(void);
void tracker_await_release(void);
void tracker_close(void);
bool tracker_is_open(void);

/* Receives records as they are read, chunk by chunk, starting at record `index`. */
struct record_sink {
	void (*write)(struct record_sink *self, size_t index, const uint64_t *records, size_t count);
};

/* Returns the number of records written, or a negative number when capacity is too small. */
long tracker_read_allocs(struct record_sink *sink, size_t capacity);
long tracker_read_combined(struct record_sink *sink, size_t capacity);
/* Returns the number of frames (0 when the id is unknown); a forgotten stack's until the next report settles it. */
int tracker_read_stack(uint64_t stack_id, uint64_t *out, size_t capacity);
/*
 * Forgets the stacks of ids (ascending), and with counters their per-stack counters too (forgotten_stacks.h); returns
 * how many, or -EBUSY while the last ones are not settled.
 */
long tracker_forget_stacks(const uint64_t *ids, size_t n, bool counters);
/* Puts back the forgotten stacks that referenced (ascending) or the kernel's cache names; returns how many. */
long tracker_settle_forgotten_stacks(const uint64_t *referenced, size_t n);
void tracker_read_stats(uint64_t *out, size_t count);
/* 0, -ERANGE for a rate or interval of 2^31 or more, -ENOSPC after 255 distinct sampling settings. */
int tracker_set_tuning(uint64_t sample_rate, uint64_t sample_bytes, uint64_t min_size, uint64_t max_size,
		       bool enabled);
int tracker_ignore_thread(uint32_t tid, bool ignore);
/* The layout of HotSpot's frames for the kernel side's walk from a thread's frame anchor (jvm_anchor.c). */
struct jvm_layout;
int tracker_set_jvm_layout(const struct jvm_layout *layout);
/* Tells the kernel side the JavaThread of a thread (set) or that the thread ended. */
int tracker_set_java_thread(uint32_t tid, uint64_t java_thread, bool set);
/* The JVM's interpreter code: frames there are stored by their Method*. */
void tracker_set_interpreter(uint64_t start, uint64_t end);
/* Bytes of kernel memory the maps hold now (from /proc/self/fdinfo memlock). */
uint64_t tracker_map_memory(void);
int tracker_attached_count(void);
/*
 * Maps the `jni_marks` array (struct jni_mark per slot) into this process for the JVM to write; *slots gets its
 * length. Returns NULL with a message in err on failure. tracker_close drops the mapping's hold on the map; the
 * addresses stay writable (anonymous memory) and the next start maps its array there again (see the .c file).
 */
void *tracker_map_jni_marks(size_t *slots, char *err, size_t err_len);
/* Binds (set) or unbinds a thread id to a `jni_marks` slot in `thread_slots`. 0 or a negative errno. */
int tracker_set_thread_slot(uint32_t tid, uint32_t slot, bool set);

#endif
