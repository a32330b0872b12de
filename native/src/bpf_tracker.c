// SPDX-License-Identifier: Apache-2.0
#include "bpf_tracker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "alloc_hooks.h"
#include "forgotten_stacks.h"
#include "memleak.h"
#include "memleak.skel.h"

#define MAX_LINKS 64
/* From the kernel's UAPI (uprobe_multi 6.6+, session 6.13+); Debian 12's headers predate them. */
#define ATTACH_TYPE_UPROBE_MULTI 48
#define ATTACH_TYPE_UPROBE_SESSION 57

static struct memleak_bpf *skel;
static struct bpf_link *links[MAX_LINKS];
static int link_count;
/* Uprobe session and uprobe_multi links are made with a raw BPF_LINK_CREATE (libbpf 1.5 cannot), so kept as fds. */
static int raw_links[MAX_LINKS];
static int raw_link_count;
static bool sessions;
/* Probes attached since the open: what the reports say, also while the JVM's exit detaches them. */
static int attached_count;
/* Entries of the BPF side's sampling_settings in use; entry 0 ("every call") is there from the start. */
static int sampling_settings_used;
static bool verbose_libbpf;
/*
 * Where the JVM sees the jni_marks array. Kept for the life of the process: threads inside a wrapped JNI call when the
 * probes stop still write their slot on the way out, so on close the BPF map's pages are replaced in place by
 * anonymous ones (the map is freed, the writes land harmlessly), and the next start maps its array at the same place.
 */
static void *marks_region;
static size_t marks_region_bytes;
static bool marks_mapped;
/* The last warning libbpf printed: the best explanation to hand the user on failure. */
static char last_libbpf_message[512];

static int libbpf_print(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_WARN) {
		va_list copy;

		va_copy(copy, args);
		vsnprintf(last_libbpf_message, sizeof(last_libbpf_message), format, copy);
		va_end(copy);
		last_libbpf_message[strcspn(last_libbpf_message, "\n")] = '\0';
	}
	/* Warnings reach the user through the error message; verbose shows them all as they come,
	 * but not libbpf's debug chatter (hundreds of lines per load). */
	if (!verbose_libbpf || level == LIBBPF_DEBUG)
		return 0;
	fputs("memleak4j: libbpf: ", stderr);
	return vfprintf(stderr, format, args);
}

static int fail(char *err, size_t err_len, int error, const char *what)
{
	if (error > 0)
		error = -error;
	if (last_libbpf_message[0])
		snprintf(err, err_len, "%s: %s (libbpf: %s)", what, strerror(-error), last_libbpf_message);
	else
		snprintf(err, err_len, "%s: %s", what, strerror(-error));
	return error;
}

bool tracker_is_open(void)
{
	return skel != NULL;
}

/* The programs of the libc uprobes, classic ones: the allocating functions' entry, free's, and the return probe. */
static struct bpf_program *uprobe_programs(int index)
{
	struct bpf_program *all[] = {
		skel->progs.alloc_enter, skel->progs.free_enter, skel->progs.alloc_return,
	};

	return index < (int)(sizeof(all) / sizeof(all[0])) ? all[index] : NULL;
}

/*
 * Loads only the programs the probe mode attaches: the kernel verifies each program loaded, on CPU charged to the
 * application's start, and a program that walks stacks is the most work. The hooks attach hook_site only; the
 * uprobe modes never attach it.
 */
static void choose_programs(const struct tracker_config *config, bool with_sessions)
{
	struct bpf_program *program;

	if (with_sessions)
		bpf_program__set_expected_attach_type(skel->progs.alloc_session, ATTACH_TYPE_UPROBE_SESSION);
	else
		bpf_program__set_autoload(skel->progs.alloc_session, false);
	for (int i = 0; (program = uprobe_programs(i)); i++) {
		if (config->hooks)
			bpf_program__set_autoload(program, false);
	}
	/* A session sees the return itself: the classic return probe is never attached beside sessions. */
	if (with_sessions)
		bpf_program__set_autoload(skel->progs.alloc_return, false);
	if (!config->hooks) {
		bpf_program__set_autoload(skel->progs.hook_site, false);
	} else {
		/*
		 * Attached as uprobe_multi links where the kernel has them (tracker_attach_sites). Kernels that predate them
		 * do not check this type for uprobes, and the classic attach they fall back to still works there.
		 */
		bpf_program__set_expected_attach_type(skel->progs.hook_site, ATTACH_TYPE_UPROBE_MULTI);
	}
}

/*
 * Loads the object with asynchronous signals held back on this thread. The verifier gives up with EAGAIN when a
 * signal is pending for the loading thread, and libbpf retries only a few times: in a JVM where a sampling profiler
 * signals every thread each millisecond (async-profiler's cpu or itimer mode, started before us with -agentpath),
 * loading failed every time ("failed to load BPF skeleton: -11"). The signals are delivered once the load is done;
 * faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) are never blocked: the JVM relies on them.
 */
static int load_without_interruptions(void)
{
	sigset_t held, previous;
	bool blocked;
	int error;

	sigfillset(&held);
	sigdelset(&held, SIGSEGV);
	sigdelset(&held, SIGBUS);
	sigdelset(&held, SIGFPE);
	sigdelset(&held, SIGILL);
	sigdelset(&held, SIGTRAP);
	blocked = pthread_sigmask(SIG_BLOCK, &held, &previous) == 0;
	error = memleak_bpf__load(skel);
	if (blocked)
		pthread_sigmask(SIG_SETMASK, &previous, NULL);
	return error;
}

/* Opens and loads the object, with or without the uprobe session programs. */
static int open_and_load(const struct tracker_config *config, bool with_sessions, char *err, size_t err_len)
{
	int error;

	skel = memleak_bpf__open();
	if (!skel)
		return fail(err, err_len, errno, "opening the BPF object failed");
	skel->rodata->target_tgid = config->tgid;
	sampling_settings_used = 1;
	choose_programs(config, with_sessions);
	/* max-allocs in all: the preallocated table first, the rest as they come (a map has a size: 1 when unused). */
	uint32_t preallocated = config->max_allocs < ALLOCS_PREALLOCATED ? config->max_allocs : ALLOCS_PREALLOCATED;
	uint32_t overflow = config->max_allocs > preallocated ? config->max_allocs - preallocated : 1;

	skel->rodata->allocs_overflow_enabled = config->max_allocs > preallocated;

	if ((error = bpf_map__set_max_entries(skel->maps.allocs, preallocated)) ||
	    (error = bpf_map__set_max_entries(skel->maps.allocs_overflow, overflow)) ||
	    (error = bpf_map__set_max_entries(skel->maps.stacks, config->max_stacks)) ||
	    (error = bpf_map__set_max_entries(skel->maps.combined, config->max_combined)) ||
	    (error = bpf_map__set_max_entries(skel->maps.pending, config->max_threads)) ||
	    (error = bpf_map__set_max_entries(skel->maps.jni_marks, config->max_threads)) ||
	    (error = bpf_map__set_max_entries(skel->maps.thread_slots, config->max_threads)) ||
	    (error = bpf_map__set_max_entries(skel->maps.java_threads, config->max_threads))) {
		fail(err, err_len, error, "sizing the BPF maps failed");
		goto cleanup;
	}
	error = load_without_interruptions();
	if (error) {
		fail(err, err_len, error, "loading the BPF programs failed");
		goto cleanup;
	}
	return 0;
cleanup:
	memleak_bpf__destroy(skel);
	skel = NULL;
	return error ? error : -EINVAL;
}

int tracker_open(const struct tracker_config *config, char *err, size_t err_len)
{
	if (skel)
		return fail(err, err_len, EALREADY, "memleak4j's BPF programs are already loaded");
	verbose_libbpf = config->verbose;
	last_libbpf_message[0] = '\0';
	libbpf_set_print(libbpf_print);
	/* Uprobe sessions need kernel 6.13+: where loading them fails, classic probes do the work. */
	int error;

	sessions = config->sessions && !config->hooks && open_and_load(config, true, err, err_len) == 0;
	if (!sessions) {
		last_libbpf_message[0] = '\0';
		error = open_and_load(config, false, err, err_len);
		if (error)
			return error;
	}
	return 0;
}

bool tracker_sessions(void)
{
	return skel && sessions;
}

/* The entry program of a function: one for all allocating ones (the attach cookie tells them apart), one for free. */
static struct bpf_program *entry_program(int func)
{
	if (func == FUNC_FREE)
		return skel->progs.free_enter;
	return func >= 0 && func < FUNC_COUNT ? skel->progs.alloc_enter : NULL;
}

/* A classic uprobe (or return probe) of program at binary+file_offset; `what` names it in the error. */
static int attach_uprobe(struct bpf_program *program, const char *binary, uint64_t file_offset,
			 const struct bpf_uprobe_opts *opts, const char *what, char *err, size_t err_len)
{
	struct bpf_link *link;

	if (link_count >= MAX_LINKS)
		return fail(err, err_len, ENOSPC, "too many probes");
	last_libbpf_message[0] = '\0';
	link = bpf_program__attach_uprobe_opts(program, (pid_t)skel->rodata->target_tgid, binary,
					       (size_t)file_offset, opts);
	if (!link) {
		char message[256];

		snprintf(message, sizeof(message), "attaching a %s to %s+0x%llx failed", what, binary,
			 (unsigned long long)file_offset);
		return fail(err, err_len, errno, message);
	}
	links[link_count++] = link;
	attached_count++;
	return 0;
}

int tracker_attach(const char *binary, uint64_t file_offset, int func, bool retprobe, char *err, size_t err_len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .bpf_cookie = (uint64_t)func);
	struct bpf_program *program;

	if (!skel)
		return fail(err, err_len, EINVAL, "BPF programs are not loaded");
	program = retprobe ? skel->progs.alloc_return : entry_program(func);
	if (!program)
		return fail(err, err_len, EINVAL, "unknown allocator function");
	return attach_uprobe(program, binary, file_offset, &opts, retprobe ? "return probe" : "probe", err, err_len);
}

/* The prefix of union bpf_attr that BPF_LINK_CREATE reads for uprobe_multi and session links. */
struct uprobe_multi_link_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
};

/*
 * A uprobe_multi-style link (attach_type: uprobe_multi or session) of program at `count` offsets of binary, each with
 * its cookie, for our process, by a raw BPF_LINK_CREATE (libbpf 1.5 has no session links). Returns the link's fd, or
 * a negative errno.
 */
static int create_multi_link(struct bpf_program *program, uint32_t attach_type, const char *binary,
			     const unsigned long *offsets, const uint64_t *cookies, uint32_t count)
{
	union {
		struct uprobe_multi_link_attr attr;
		uint8_t bytes[144]; /* the kernel wants the unused rest of union bpf_attr zeroed */
	} request;
	int fd;

	memset(&request, 0, sizeof(request));
	request.attr.prog_fd = (uint32_t)bpf_program__fd(program);
	request.attr.attach_type = attach_type;
	request.attr.path = (uint64_t)(uintptr_t)binary;
	request.attr.offsets = (uint64_t)(uintptr_t)offsets;
	request.attr.cookies = (uint64_t)(uintptr_t)cookies;
	request.attr.cnt = count;
	request.attr.pid = skel->rodata->target_tgid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &request, sizeof(request));
	return fd < 0 ? -errno : fd;
}

int tracker_attach_sites(const char *binary, uint64_t alloc_offset, uint64_t free_offset, char *err, size_t err_len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, alloc_opts, .bpf_cookie = HOOK_SITE_ALLOC);
	LIBBPF_OPTS(bpf_uprobe_opts, free_opts, .bpf_cookie = HOOK_SITE_FREE);
	const unsigned long offsets[2] = { (unsigned long)alloc_offset, (unsigned long)free_offset };
	const uint64_t cookies[2] = { HOOK_SITE_ALLOC, HOOK_SITE_FREE };
	int fd;

	if (!skel)
		return fail(err, err_len, EINVAL, "BPF programs are not loaded");
	/*
	 * Both sites in one uprobe_multi link (Linux 6.6+) where the kernel has them: the JVM's exit detaches it
	 * (BpfTracker), and one link's release waits for its grace periods once; a classic uprobe's perf event waits
	 * for more, under a lock all perf uprobes share.
	 */
	if (raw_link_count < MAX_LINKS) {
		fd = create_multi_link(skel->progs.hook_site, ATTACH_TYPE_UPROBE_MULTI, binary, offsets, cookies, 2);
		if (fd >= 0) {
			raw_links[raw_link_count++] = fd;
			attached_count += 2;
			return 0;
		}
	}
	fd = attach_uprobe(skel->progs.hook_site, binary, alloc_offset, &alloc_opts, "probe on the hooks' alloc site",
			   err, err_len);
	return fd ? fd : attach_uprobe(skel->progs.hook_site, binary, free_offset, &free_opts,
				       "probe on the hooks' free site", err, err_len);
}

/* The session program for an allocating function (one for all, told apart by the cookie), or NULL (free has none). */
static struct bpf_program *session_program(int func)
{
	return func >= 0 && func < FUNC_COUNT && func != FUNC_FREE ? skel->progs.alloc_session : NULL;
}

int tracker_attach_session(const char *binary, uint64_t file_offset, int func, char *err, size_t err_len)
{
	struct bpf_program *program;
	unsigned long offset;
	uint64_t cookie;
	int fd;

	if (!skel || !sessions)
		return fail(err, err_len, EINVAL, "uprobe sessions are not loaded");
	if (raw_link_count >= MAX_LINKS)
		return fail(err, err_len, ENOSPC, "too many probes");
	program = session_program(func);
	if (!program)
		return fail(err, err_len, EINVAL, "no session program for this function");
	offset = (unsigned long)file_offset;
	cookie = (uint64_t)func;
	fd = create_multi_link(program, ATTACH_TYPE_UPROBE_SESSION, binary, &offset, &cookie, 1);
	if (fd < 0) {
		char what[256];

		snprintf(what, sizeof(what), "attaching a uprobe session to %s+0x%llx failed", binary,
			 (unsigned long long)file_offset);
		return fail(err, err_len, -fd, what);
	}
	raw_links[raw_link_count++] = fd;
	attached_count++;
	return 0;
}

int tracker_attached_count(void)
{
	return attached_count;
}

/* Drops the mapping's hold on the jni_marks map; the addresses stay valid (zeroed anonymous memory). */
static void unmap_jni_marks(void)
{
	if (!marks_mapped)
		return;
	if (mmap(marks_region, marks_region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED) {
		/* Cannot happen short of the kernel running out of memory: say so, the map then stays until exit. */
		fprintf(stderr, "memleak4j: the jni_marks BPF array could not be unmapped (%s); its %zu bytes stay in "
			"the kernel until the JVM exits\n", strerror(errno), marks_region_bytes);
		marks_region = NULL;
		marks_region_bytes = 0;
	}
	marks_mapped = false;
}

/* Thread bodies releasing one probe's link: a libbpf link, or a raw link's fd (passed as the pointer's value). */
static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

static void *close_link_fd(void *fd)
{
	close((int)(intptr_t)fd);
	return NULL;
}

/*
 * The threads of a release in progress (tracker_release_probes), until tracker_await_release joins them; under
 * releasing_lock, since the JVM's exit awaits them outside the callers' serialization (while the exit report reads).
 */
static pthread_mutex_t releasing_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t releasing[2 * MAX_LINKS];
static int releasing_count;

static void join_releasing_locked(void)
{
	for (int i = 0; i < releasing_count; i++)
		pthread_join(releasing[i], NULL);
	releasing_count = 0;
}

/*
 * Starts detaching every probe, each on a thread of its own, and returns; tracker_await_release waits for them.
 * Releasing a uprobe's link waits for several RCU grace periods in the kernel (Tasks Trace RCU among them, tens of
 * milliseconds each), one link after another when done in a loop; at a process's exit the kernel does just that on
 * the exiting thread. Waiters at the same time share grace periods, so links released side by side take about as
 * long as one. The threads are not the JVM's, and block every signal the JVM uses. A link whose thread cannot be
 * started is released here, in turn.
 */
void tracker_release_probes(void)
{
	void *(*release[2 * MAX_LINKS])(void *);
	void *what[2 * MAX_LINKS];
	pthread_attr_t attr;
	sigset_t all, previous;
	int count = 0;

	for (int i = 0; i < link_count; i++, count++) {
		release[count] = destroy_link;
		what[count] = links[i];
	}
	for (int i = 0; i < raw_link_count; i++, count++) {
		release[count] = close_link_fd;
		what[count] = (void *)(intptr_t)raw_links[i];
	}
	link_count = 0;
	raw_link_count = 0;
	if (count == 0)
		return;
	pthread_mutex_lock(&releasing_lock);
	if (releasing_count + count > 2 * MAX_LINKS)
		join_releasing_locked(); /* an earlier release nobody awaited: its threads first */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	for (int i = 0; i < count; i++) {
		if (pthread_create(&releasing[releasing_count], &attr, release[i], what[i]) == 0)
			releasing_count++;
		else
			release[i](what[i]);
	}
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&releasing_lock);
}

/*
 * Joins the release's threads. The process must not exit before they are done: a probe released while the kernel
 * kills the process's threads cannot take its breakpoint out of the still-mapped code, and the kernel then keeps the
 * uprobe, and the file it is on, until reboot ("failed to unregister, leaking uprobe").
 */
void tracker_await_release(void)
{
	pthread_mutex_lock(&releasing_lock);
	join_releasing_locked();
	pthread_mutex_unlock(&releasing_lock);
}

void tracker_close(void)
{
	/* Links first: no probe may fire into maps that are going away. */
	tracker_release_probes();
	tracker_await_release();
	unmap_jni_marks();
	forgotten_stacks_drop();
	if (skel)
		memleak_bpf__destroy(skel);
	skel = NULL;
	attached_count = 0;
}

/*
 * Reads a hash map in chunks of CHUNK entries (one batch syscall each; key-by-key iteration on kernels
 * without batch operations), converts each chunk into records and hands them to the sink. Only one
 * chunk is ever held here, so reading a million allocations costs a few MB of native memory, not
 * hundreds. Several maps can be read into one sink, one after the other: the read's totals go on.
 */
#define CHUNK 16384

typedef size_t (*convert_fn)(const uint8_t *keys, const uint8_t *values, size_t n, uint64_t *records);

/* Where reads into one sink are: the records written, and all found (more than capacity: only counted). */
struct map_read {
	struct record_sink *sink;
	size_t capacity;
	size_t written, found;
	bool failed; /* one bucket larger than a chunk (ENOSPC) */
};

/*
 * The read's result: the records written, or -(records found) when there are more than capacity (the caller then
 * knows the size to ask for).
 */
static long map_read_result(const struct map_read *read)
{
	if (read->failed)
		return -(long)(read->capacity * 2);
	return read->found > read->capacity ? -(long)read->found : (long)read->written;
}

static void read_hash_map(int fd, size_t key_size, size_t value_size, size_t words, convert_fn convert,
			  struct map_read *read)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint8_t *keys = malloc(CHUNK * key_size), *values = malloc(CHUNK * value_size);
	uint64_t *records = malloc(CHUNK * words * sizeof(uint64_t));
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, batches = true, done = false;
	uint8_t key[16], next[16];
	void *previous = NULL;

	if (!keys || !values || !records)
		goto out;
	while (!done) {
		size_t n = 0, converted;

		if (batches) {
			__u32 count = CHUNK;
			int error = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, values, &count,
							 &opts);

			if (error && errno != ENOENT && first) {
				batches = false; /* no batch operations here: iterate key by key */
				continue;
			}
			if (error && errno != ENOENT) {
				read->failed = true;
				goto out;
			}
			n = count;
			done = error != 0;
			in_batch = out_batch;
			first = false;
		} else {
			while (n < CHUNK && bpf_map_get_next_key(fd, previous, next) == 0) {
				memcpy(key, next, key_size);
				previous = key;
				if (bpf_map_lookup_elem(fd, key, values + n * value_size) == 0)
					memcpy(keys + n++ * key_size, key, key_size);
			}
			done = n < CHUNK;
		}
		converted = convert(keys, values, n, records);
		read->found += converted;
		if (read->found > read->capacity)
			continue; /* too small: only count the rest */
		read->sink->write(read->sink, read->written, records, converted);
		read->written += converted;
	}
out:
	free(keys);
	free(values);
	free(records);
}

static size_t convert_allocs(const uint8_t *keys, const uint8_t *values, size_t n, uint64_t *records)
{
	const uint64_t *addresses = (const uint64_t *)keys;
	const struct alloc_info *infos = (const struct alloc_info *)values;

	for (size_t i = 0; i < n; i++) {
		uint64_t *record = records + i * ALLOC_RECORD_WORDS;
		__u64 est_bytes, est_count_milli;

		uint64_t size = alloc_size(infos[i].tags);

		sampling_weights(size, skel->data->sampling_settings[alloc_setting(infos[i].tags)], &est_bytes,
				 &est_count_milli);
		record[0] = addresses[i];
		record[1] = size;
		record[2] = infos[i].timestamp_ns;
		record[3] = infos[i].stack_id;
		record[4] = alloc_func(infos[i].tags);
		record[5] = est_bytes;
		record[6] = est_count_milli;
		record[7] = infos[i].java_mark;
	}
	return n;
}

static size_t convert_combined(const uint8_t *keys, const uint8_t *values, size_t n, uint64_t *records)
{
	const uint64_t *stack_ids = (const uint64_t *)keys;
	const struct combined_info *infos = (const struct combined_info *)values;

	/* Stacks whose blocks were all freed too: what they allocated still counts (pprof's alloc_*). */
	for (size_t i = 0; i < n; i++) {
		uint64_t *record = records + i * COMBINED_RECORD_WORDS;

		record[0] = stack_ids[i];
		record[1] = infos[i].bytes;
		record[2] = infos[i].count;
		record[3] = infos[i].est_bytes;
		record[4] = infos[i].est_count_milli;
		record[5] = infos[i].alloc_est_bytes;
		record[6] = infos[i].alloc_est_count_milli;
	}
	return n;
}

long tracker_read_allocs(struct record_sink *sink, size_t capacity)
{
	struct map_read read = { .sink = sink, .capacity = capacity };

	if (!skel)
		return 0;
	read_hash_map(bpf_map__fd(skel->maps.allocs), sizeof(uint64_t), sizeof(struct alloc_info), ALLOC_RECORD_WORDS,
		      convert_allocs, &read);
	if (!read.failed && skel->bss->allocs_overflow_used)
		read_hash_map(bpf_map__fd(skel->maps.allocs_overflow), sizeof(uint64_t), sizeof(struct alloc_info),
			      ALLOC_RECORD_WORDS, convert_allocs, &read);
	return map_read_result(&read);
}

long tracker_read_combined(struct record_sink *sink, size_t capacity)
{
	struct map_read read = { .sink = sink, .capacity = capacity };

	if (!skel)
		return 0;
	read_hash_map(bpf_map__fd(skel->maps.combined), sizeof(uint64_t), sizeof(struct combined_info),
		      COMBINED_RECORD_WORDS, convert_combined, &read);
	return map_read_result(&read);
}

int tracker_read_stack(uint64_t stack_id, uint64_t *out, size_t capacity)
{
	struct stack_trace trace;
	int frames = 0;

	if (!skel)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stacks), &stack_id, &trace))
		return forgotten_stacks_read(stack_id, out, capacity);
	while (frames < MAX_STACK_DEPTH && (size_t)frames < capacity && trace.ips[frames]) {
		out[frames] = trace.ips[frames];
		frames++;
	}
	return frames;
}

/* Adds to a counter of `stats` that only user space writes: on the first CPU's copy (readers sum the CPUs). */
static void stat_add_from_user(uint32_t stat, uint64_t value)
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t *per_cpu;

	if (cpus <= 0 || !(per_cpu = calloc((size_t)cpus, sizeof(*per_cpu))))
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &stat, per_cpu)) {
		per_cpu[0] += value;
		bpf_map_update_elem(bpf_map__fd(skel->maps.stats), &stat, per_cpu, BPF_ANY);
	}
	free(per_cpu);
}

/*
 * One step of forgetting stacks (forgotten_stacks.h) on the tracker's maps, with or without the per-stack counters;
 * what it moved is added to stat.
 */
static long stack_upkeep(long (*step)(const struct stack_maps *maps, const uint64_t *ids, size_t n),
			 const uint64_t *ids, size_t n, bool counters, uint32_t stat)
{
	struct stack_maps maps;
	long moved;

	if (!skel)
		return 0;
	maps = (struct stack_maps){
		.stacks_fd = bpf_map__fd(skel->maps.stacks),
		.combined_fd = counters ? bpf_map__fd(skel->maps.combined) : -1,
		.stored_fd = bpf_map__fd(skel->maps.stored_stacks),
	};
	moved = step(&maps, ids, n);
	if (moved > 0)
		stat_add_from_user(stat, (uint64_t)moved);
	return moved;
}

long tracker_forget_stacks(const uint64_t *ids, size_t n, bool counters)
{
	return stack_upkeep(forgotten_stacks_forget, ids, n, counters, STAT_STACKS_FORGOTTEN);
}

long tracker_settle_forgotten_stacks(const uint64_t *referenced, size_t n)
{
	return stack_upkeep(forgotten_stacks_settle, referenced, n, false, STAT_STACKS_RESTORED);
}

void tracker_read_stats(uint64_t *out, size_t count)
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t *per_cpu;

	memset(out, 0, count * sizeof(*out));
	if (!skel || cpus <= 0 || !(per_cpu = calloc((size_t)cpus, sizeof(*per_cpu))))
		return;
	for (uint32_t stat = 0; stat < STAT_COUNT && stat < count; stat++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &stat, per_cpu))
			continue;
		for (int cpu = 0; cpu < cpus; cpu++)
			out[stat] += per_cpu[cpu];
	}
	free(per_cpu);
}

int tracker_set_tuning(uint64_t sample_rate, uint64_t sample_bytes, uint64_t min_size, uint64_t max_size,
		       bool enabled)
{
	uint32_t word = sample_bytes ? SAMPLING_BY_BYTES | (uint32_t)sample_bytes : sample_rate ? (uint32_t)sample_rate : 1;
	volatile uint32_t *settings;
	int index;

	if (!skel)
		return 0;
	if (sample_bytes >= SAMPLING_BY_BYTES || sample_rate >= SAMPLING_BY_BYTES)
		return -ERANGE;
	/*
	 * Tracked allocations name their setting by index, so a published setting never changes: a new one
	 * is appended, then made current (x86-64 keeps the two stores in order for the BPF side).
	 */
	settings = skel->data->sampling_settings;
	for (index = 0; index < sampling_settings_used && settings[index] != word; index++)
		;
	if (index == sampling_settings_used) {
		if (index == SAMPLING_SETTINGS)
			return -ENOSPC;
		settings[index] = word;
		sampling_settings_used++;
	}
	skel->bss->sampling_current = (uint32_t)index;
	skel->bss->min_size = min_size;
	skel->data->max_size = max_size;
	skel->data->tracking_enabled = enabled;
	/* The in-process hooks (probe-mode=hooks) decide by the same setting, and name it by the same index. */
	alloc_hooks_set_sampling((uint32_t)index, word, min_size, max_size, enabled);
	return 0;
}

void tracker_set_interpreter(uint64_t start, uint64_t end)
{
	if (!skel)
		return;
	/* end first: a half-updated range is then empty, never too wide */
	skel->bss->interpreter_end = 0;
	skel->bss->interpreter_start = start;
	skel->bss->interpreter_end = end;
}

int tracker_ignore_thread(uint32_t tid, bool ignore)
{
	uint8_t one = 1;

	if (!skel)
		return -EINVAL;
	if (ignore)
		return bpf_map_update_elem(bpf_map__fd(skel->maps.ignored_threads), &tid, &one, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.ignored_threads), &tid) ? -errno : 0;
}

uint64_t tracker_map_memory(void)
{
	struct bpf_map *map;
	uint64_t total = 0;

	if (!skel)
		return 0;
	bpf_object__for_each_map(map, skel->obj) {
		char path[64], line[128];
		FILE *fdinfo;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(map));
		if (!(fdinfo = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), fdinfo)) {
			unsigned long long bytes;

			if (sscanf(line, "memlock: %llu", &bytes) == 1)
				total += bytes;
		}
		fclose(fdinfo);
	}
	return total;
}

_Static_assert(sizeof(struct jni_mark) == 16, "the JVM reads jni_marks as 16-byte slots");

void *tracker_map_jni_marks(size_t *slots, char *err, size_t err_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes;
	void *memory;

	*slots = 0;
	if (!skel) {
		fail(err, err_len, EINVAL, "BPF programs are not loaded");
		return NULL;
	}
	*slots = bpf_map__max_entries(skel->maps.jni_marks);
	bytes = (*slots * sizeof(struct jni_mark) + page - 1) / page * page;
	if (marks_mapped)
		return marks_region;
	/* In the region of an earlier start when it is large enough; otherwise a new one (the old stays anonymous). */
	memory = mmap(bytes <= marks_region_bytes ? marks_region : NULL, bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED | (bytes <= marks_region_bytes ? MAP_FIXED : 0), bpf_map__fd(skel->maps.jni_marks), 0);
	if (memory == MAP_FAILED) {
		int error = errno;

		/* A failed MAP_FIXED may have dropped the old pages: late writers of an earlier start need them. */
		if (bytes <= marks_region_bytes)
			mmap(marks_region, marks_region_bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		*slots = 0;
		fail(err, err_len, error, "mapping the jni_marks BPF array failed");
		return NULL;
	}
	if (bytes > marks_region_bytes) {
		marks_region = memory;
		marks_region_bytes = bytes;
	}
	marks_mapped = true;
	return memory;
}

int tracker_set_thread_slot(uint32_t tid, uint32_t slot, bool set)
{
	if (!skel)
		return -EINVAL;
	if (set)
		return bpf_map_update_elem(bpf_map__fd(skel->maps.thread_slots), &tid, &slot, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.thread_slots), &tid) ? -errno : 0;
}

int tracker_set_jvm_layout(const struct jvm_layout *layout)
{
	if (!skel)
		return -EINVAL;
	/* ready last: the kernel side never walks with a half-written layout */
	skel->bss->jvm.ready = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy((void *)&skel->bss->jvm, layout, sizeof(*layout));
	skel->bss->jvm.ready = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	skel->bss->jvm.ready = layout->ready;
	return 0;
}

int tracker_set_java_thread(uint32_t tid, uint64_t java_thread, bool set)
{
	if (!skel)
		return -EINVAL;
	if (set)
		return bpf_map_update_elem(bpf_map__fd(skel->maps.java_threads), &tid, &java_thread, BPF_ANY) ? -errno
														 : 0;
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.java_threads), &tid) ? -errno : 0;
}
