// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * memleak4j kernel side: uprobes on the allocator of the JVM that loaded us.
 *
 * Entry probes note what was asked for in a per-thread `pending` slot; the one return probe
 * (shared by every allocating function) completes the call: it walks the user stack, stores
 * it once per distinct stack in `stacks`, records the block in `allocs` (or allocs_overflow) and adds it to the
 * per-stack counters in `combined`. free() removes a block and subtracts it again.
 *
 * Semantics the classic tools get wrong and this file gets right:
 *  - nested allocator calls (realloc(NULL, n) -> malloc, reallocarray -> realloc) do not
 *    clobber the outer call's state: the inner call only raises the slot's depth;
 *  - realloc frees the old block only when it succeeds, or when size is 0 (glibc frees and
 *    returns NULL); a failed allocation is counted as failed, never as outstanding;
 *  - posix_memalign returns the block through its first argument;
 *  - a free of an address allocated before the probes existed is a harmless miss.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memleak.h"

#define EEXIST 17
#define E2BIG 7
/* An entry slot older than this when the thread enters again is a leftover, not a nesting. */
#define STALE_PENDING_NS (1000ULL * 1000 * 1000)

/* Set by the loader before load. */
const volatile __u32 target_tgid = 0;

/* Changed at run time by the agent through the mmap-ed .data section. */
/* The sampling settings (see memleak.h) and the current one's index; setting 0 is "track every call". */
volatile __u32 sampling_settings[SAMPLING_SETTINGS] = { 1 };
volatile __u32 sampling_current = 0;
volatile __u64 min_size = 0;         /* track only sizes in [min_size, max_size] */
volatile __u64 max_size = ~0ULL;
volatile __u32 tracking_enabled = 1; /* 0: count calls, record nothing new (frees still apply) */
/* The JVM's template interpreter code, set by the agent once the JVM has told it (0, 0: unknown). */
volatile __u64 interpreter_start = 0;
volatile __u64 interpreter_end = 0;

/* HotSpot's layout for the walk from the frame anchor (see struct jvm_layout); ready == 0 until the agent sets it. */
volatile struct jvm_layout jvm = {};

/*
 * Where one thread's walk of its Java frames is (see walk_with_anchor); the frames go to a struct stack_trace. Kept in
 * the thread's pending slot: with the scratch of its reads it is too big for the BPF stack beside the walk's callers.
 */
struct java_walk {
	__u64 sp, fp, pc;
	__u64 lo, hi; /* where frames are read: the thread's stack above the probe's frame, or a stack chunk's words */
	__u64 thread; /* the JavaThread */
	/* In a stack chunk (in_chunk): the chunk, where its frames end, the stack's bounds, the entry frame after it. */
	__u64 chunk, chunk_end;
	__u64 stack_lo, stack_hi;
	__u64 entry_sp, entry_fp;
	__u32 in_chunk;
	__u32 continuations; /* entered by this walk: the entry's frame need not lie above the barrier's */
	__u32 frames;    /* the next free index in trace->ips */
	__u32 java;      /* Java frames stored */
	__u32 ended;     /* JAVA_WALK_* */
	__u32 pad;
	/* Scratch for one frame: what one read brings (an interpreted frame's words, a block's header). */
	__u64 words[INTERPRETER_FRAME_WORDS];
	__u8 header[JVM_BLOCK_HEADER_BYTES + 8]; /* + 8: a field at the last masked offset still lies inside */
};

/* The state of one thread's allocator call between its entry and its return. */
struct pending_call {
	__u64 size;
	__u64 old_ptr;      /* realloc, reallocarray */
	__u64 memptr;       /* posix_memalign's out-pointer */
	__u64 entry_sp;     /* tells a nested call (deeper stack) from a stale slot */
	__u64 timestamp_ns;
	__u32 func;
	__u32 depth;        /* 0: no call pending; 2+: allocator calls nested in the outer one */
	__u32 tracked;      /* chosen by sampling and size filters */
	__u32 session;      /* entered through a uprobe session (its return fires only if asked for) */
	__u32 setting;      /* the sampling setting it was chosen under (index) */
	__u32 pad2;
	struct stack_trace stack;
	struct java_walk walk;
};

/*
 * The tracked blocks, in two tables: `allocs`, allocated when the map is created, holds the first ALLOCS_PREALLOCATED
 * (the loader sizes both); `allocs_overflow` takes the rest, its elements allocated as they come, so that memory
 * grows with what is outstanding up to max-allocs. Filling and emptying a preallocated table is cheaper: its elements
 * come from and go back to a free list, while the other gets them from the kernel's BPF allocator, whose per-CPU
 * caches refill and drain in batches, all the time when another thread (a direct buffer's cleaner) frees the blocks
 * (docs/benchmarks.md, "A table allocated up front"). Nothing is in the overflow table until the first table is full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALLOCS_PREALLOCATED);
	__type(key, __u64);
	__type(value, struct alloc_info);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, struct alloc_info);
} allocs_overflow SEC(".maps");

/* Set by the loader: whether max-allocs leaves room for allocs_overflow (a map cannot be sized 0). */
const volatile __u32 allocs_overflow_enabled = 0;
/* Set by the programs when a block first goes to allocs_overflow: until then a miss in `allocs` is final. */
volatile __u32 allocs_overflow_used = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* one element per stack seen, not max_entries up front */
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, struct combined_info);
} combined SEC(".maps");

/*
 * Our own stack store instead of BPF_MAP_TYPE_STACK_TRACE: that map drops (or, with
 * BPF_F_REUSE_STACKID, overwrites) stacks whose hash buckets collide. Here the key is a 64-bit
 * hash of the frames, so distinct stacks practically never share a key.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 14);
	__type(key, __u64);
	__type(value, struct stack_trace);
} stacks SEC(".maps");

/*
 * The ids of stacks stored lately, one per slot (stored_stack_slot): a tracked allocation whose stack is found here
 * skips the update of `stacks` (a bucket lock and a key compare, costly when its lines are cold, as they are after a
 * little application work; see docs/benchmarks.md, "Where the time goes"). A miss only costs the update. User space
 * forgets stacks that nothing outstanding names (native/src/forgotten_stacks.c): it clears their slots first, and puts
 * back any stack it forgot that a slot or an allocation still named once the programs running meanwhile are done.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STORED_STACK_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} stored_stacks SEC(".maps");

/* Per-thread slots; LRU so that slots of threads that died are recycled. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending SEC(".maps");

/* A zeroed pending_call to create slots from (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending_template SEC(".maps");

/* The agent's own threads: their allocations are not the application's. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} ignored_threads SEC(".maps");

/*
 * JNI marks, one slot per registered Java thread, written by the JVM through an mmap of this array (struct
 * jni_mark); `thread_slots` maps a thread id to its slot. Both sized to max-threads by the loader.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct jni_mark);
} jni_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} thread_slots SEC(".maps");

/*
 * The JavaThread of each Java thread of the process, by thread id: written by the agent for the threads alive when
 * the probes start and from JVMTI ThreadStart/ThreadEnd after that (native/src/jvm_anchor.c). A map rather than
 * HotSpot's thread-local Thread::_thr_current: libjvm is dlopen-ed, so that variable lives in a dynamically allocated
 * TLS block that BPF could only find through the thread's fs base, glibc's DTV and the module's TLS index, all glibc
 * internals; the map costs one lookup per tracked allocation and one update per thread start. Sized by the loader.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} java_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 index, __u64 value)
{
	__u64 *counter = bpf_map_lookup_elem(&stats, &index);

	if (counter)
		__sync_fetch_and_add(counter, value);
}

static __always_inline int is_target_process(__u64 pid_tgid)
{
	return (pid_tgid >> 32) == target_tgid;
}

static __always_inline void combined_add(__u64 stack_id, __s64 bytes, __s64 count, __s64 est_bytes,
					 __s64 est_count_milli)
{
	struct combined_info *info = bpf_map_lookup_elem(&combined, &stack_id);

	if (!info) {
		struct combined_info zero = {};

		bpf_map_update_elem(&combined, &stack_id, &zero, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&combined, &stack_id);
		if (!info) {
			stat_add(STAT_DROPPED_COMBINED_FULL, 1);
			return;
		}
	}
	__sync_fetch_and_add(&info->bytes, bytes);
	__sync_fetch_and_add(&info->count, count);
	__sync_fetch_and_add(&info->est_bytes, est_bytes);
	__sync_fetch_and_add(&info->est_count_milli, est_count_milli);
	if (count > 0) {
		__sync_fetch_and_add(&info->alloc_est_bytes, est_bytes);
		__sync_fetch_and_add(&info->alloc_est_count_milli, est_count_milli);
	}
}

/* The block at addr is gone (free, or the old block of a successful realloc). */
/* A sampling setting by its index (indexes are 8 bits: always in range). */
static __always_inline __u32 sampling_setting(__u32 index)
{
	return sampling_settings[index & (SAMPLING_SETTINGS - 1)];
}

/*
 * Removes the record of the block at addr from table into out. Returns 0 when this call removed it: only the thread
 * whose delete succeeds accounts for the block.
 */
static __always_inline int take_block(void *table, __u64 addr, struct alloc_info *out)
{
	struct alloc_info *info = bpf_map_lookup_elem(table, &addr);

	if (!info)
		return -1;
	*out = *info;
	return bpf_map_delete_elem(table, &addr) ? -1 : 0;
}

static __always_inline void release_block(__u64 addr, int count_call)
{
	struct alloc_info info;
	__u64 size, stack_id, est_bytes, est_count_milli;
	__u32 setting;

	if (count_call)
		stat_add(STAT_FREE_CALLS, 1);
	/* A miss in both: not tracked (sampled out, or allocated before we attached). */
	if (take_block(&allocs, addr, &info) && (!allocs_overflow_used || take_block(&allocs_overflow, addr, &info)))
		return;
	size = alloc_size(info.tags);
	stack_id = info.stack_id;
	setting = alloc_setting(info.tags);
	sampling_weights(size, sampling_setting(setting), &est_bytes, &est_count_milli);
	combined_add(stack_id, -(__s64)size, -1, -(__s64)est_bytes, -(__s64)est_count_milli);
	stat_add(STAT_FREE_TRACKED, 1);
	stat_add(STAT_BYTES_FREED, size);
}

static __always_inline void release(__u64 addr)
{
	release_block(addr, 1);
}

/*
 * Walks the frame-pointer chain from ip (a return address) and its frame fp into trace->ips[first...]. At the
 * return probe ip is the return address in the allocator's caller and rbp the caller's frame, so the direct caller
 * is frame 0 (at the entry the kernel's walk would skip it). We walk ourselves rather than with bpf_get_stack because
 * an interpreted Java frame is named by its Method*, which only this frame's memory holds ([fp - 3 * 8] on x86-64):
 * such a frame is stored as Method* | FRAME_INTERPRETED. Frame records are followed only inside [lo, hi): the walk
 * up to the thread's Java frames stops where they begin (the anchor walk names them), and a register that code
 * without frame pointers used for data is then seldom taken for a frame. Returns the index after the last frame.
 */
struct frame_bounds {
	__u64 lo, hi;
};

/* Where one walk of a frame-pointer chain is (see walk_stack). */
struct fp_walk {
	struct stack_trace *trace;
	__u64 ip, fp, lo, hi;
	__u64 interp_start, interp_end;
	__u64 frames; /* the next free index in trace->ips */
};

/*
 * One frame of the walk: a bpf_loop callback (0 goes on, 1 stops). A loop in the program's body would be verified
 * once per iteration, as each one indexes the trace at another place; a callback is verified until its states repeat.
 */
static long fp_frame(__u32 index, void *data)
{
	struct fp_walk *w = data;
	struct {
		__u64 next_fp;
		__u64 return_address;
	} frame;
	__u64 ip = w->ip, fp = w->fp, value = ip, i = w->frames;

	if (i >= MAX_STACK_DEPTH)
		return 1;
	if (ip >= w->interp_start && ip < w->interp_end) {
		__u64 method = 0;

		if (!bpf_probe_read_user(&method, sizeof(method), (void *)(fp - INTERPRETER_FRAME_METHOD_OFFSET)) &&
		    method && !(method & FRAME_TAG_MASK))
			value = method | FRAME_INTERPRETED;
	}
	w->trace->ips[i] = value;
	w->frames = i + 1;
	/* The caller's frame lies above ours; anything else is not a frame-pointer chain. */
	if (fp < w->lo || fp > w->hi - sizeof(frame) || bpf_probe_read_user(&frame, sizeof(frame), (void *)fp) ||
	    frame.next_fp <= fp || !frame.return_address)
		return 1;
	w->ip = frame.return_address;
	w->fp = frame.next_fp;
	return 0;
}

/* A global function: the verifier checks it once, not at each of its callers in every program (load time). */
__noinline __u32 walk_stack(__u64 ip, __u64 fp, struct stack_trace *trace, __u32 first, const struct frame_bounds *bounds)
{
	struct fp_walk w = {
		.trace = trace,
		.ip = ip,
		.fp = fp,
		.interp_start = interpreter_start,
		.interp_end = interpreter_end,
		.frames = first,
	};

	if (!trace || !bounds)
		return first;
	w.lo = bounds->lo;
	w.hi = bounds->hi;
	bpf_loop(MAX_STACK_DEPTH, fp_frame, &w, 0);
	return (__u32)w.frames;
}

#define JAVA_WALK_BOTTOM 1 /* reached the thread's first Java call (an entry frame with no Java frames below) */
#define JAVA_WALK_FAILED 2
/* reached a continuation's entry frame: a virtual thread's frames end there (below are its carrier's) */
#define JAVA_WALK_CONTINUATION 3
/* Segment map hops to a block's start: each goes back at most 254 segments, so 64 cover a block of 1 MiB or more. */
#define SEGMAP_HOPS 64
/* Segment map bytes read at once, ending at pc's segment. */
#define SEGMAP_WINDOW 32
#define MAX_FRAME_WORDS (1 << 16)

/*
 * Reads size bytes of the thread's stack at addr into out. Each read of user memory costs about as much as the rest
 * of a frame's work (a fault-handling copy), so the walk reads a frame's words together rather than one by one.
 */
static __always_inline int stack_read(const struct java_walk *w, __u64 addr, void *out, __u32 size)
{
	if (addr < w->lo || addr > w->hi - size || (addr & 7))
		return -1;
	return bpf_probe_read_user(out, size, (void *)addr) ? -1 : 0;
}

static __always_inline int stack_word(const struct java_walk *w, __u64 addr, __u64 *out)
{
	return stack_read(w, addr, out, sizeof(*out));
}

/* Word index of the anchor field at offset (the agent checked that the three fit JVM_ANCHOR_BYTES). */
static __always_inline __u64 anchor_word(const __u64 words[JVM_ANCHOR_BYTES / 8], __u64 offset)
{
	switch (((offset - jvm.anchor_first) >> 3) & 3) {
	case 0:
		return words[0];
	case 1:
		return words[1];
	case 2:
		return words[2];
	default:
		return words[3];
	}
}

/* Where one search of a segment map is (see find_block_in_heap). */
struct segmap_walk {
	__u64 segmap, index;
	__u64 first;    /* the segment of window[0] */
	__u32 found;
	__u8 window[SEGMAP_WINDOW];
};

/* bpf_loop callback: one hop back through the segment map (0 goes on, 1 stops). */
static long segmap_hop(__u32 i, void *data)
{
	struct segmap_walk *s = data;
	__u8 back = 0xFF;

	if (s->index >= s->first)
		back = s->window[(s->index - s->first) & (SEGMAP_WINDOW - 1)];
	else if (bpf_probe_read_user(&back, 1, (void *)(s->segmap + s->index)))
		return 1;
	if (back == 0xFF || back > s->index)
		return 1;
	if (back == 0) {
		s->found = 1;
		return 1;
	}
	s->index -= back;
	return 0;
}

/*
 * The start of the code heap block holding pc in one code heap (its memory from low, segment map segmap, segments of
 * 2^log2 bytes), or 0: as HotSpot's CodeCache::find_blob, through the segment map, whose byte for a segment says how
 * many segments back its block starts (0: here, 0xFF: a free segment). A global function, so that the verifier goes
 * through it once instead of once per state of the walk; its hops are a bpf_loop callback, verified once too.
 */
__noinline __u64 find_block_in_heap(__u64 pc, __u64 low, __u64 segmap, __u32 log2)
{
	struct segmap_walk s = { .segmap = segmap };
	__u64 count;

	/*
	 * The first read brings pc's segment and the ones just before it, where most blocks start: the hops that stay
	 * in it read nothing more. It ends at pc's segment, as the map may be committed no further.
	 */
	s.index = (pc - low) >> (log2 & 31);
	s.first = s.index >= SEGMAP_WINDOW - 1 ? s.index - (SEGMAP_WINDOW - 1) : 0;
	count = s.index - s.first + 1;
	if (count > SEGMAP_WINDOW || bpf_probe_read_user(s.window, count, (void *)(segmap + s.first)))
		return 0;
	bpf_loop(SEGMAP_HOPS, segmap_hop, &s, 0);
	return s.found ? low + (s.index << (log2 & 31)) : 0;
}

/* The block holding pc in the code heaps, or 0. Their bounds come from the agent: no read of the JVM's memory. */
static __always_inline __u64 find_block(__u64 pc)
{
	for (int h = 0; h < JVM_CODE_HEAPS; h++)
		if (pc >= jvm.heap_low[h] && pc < jvm.heap_high[h])
			return find_block_in_heap(pc, jvm.heap_low[h], jvm.heap_segmap[h], (__u32)jvm.heap_log2[h]);
	return 0;
}

static __always_inline int in_code_heap(__u64 pc)
{
	for (int h = 0; h < JVM_CODE_HEAPS; h++)
		if (pc >= jvm.heap_low[h] && pc < jvm.heap_high[h])
			return 1;
	return 0;
}

/*
 * The names of code blobs already told apart: HotSpot names every nmethod with the same string literals ("nmethod",
 * "native nmethod"), so after the first of each the test is a compare of pointers, and the name text is read only
 * for names not seen lately. Written by the programs themselves; a slot overwritten by another CPU only costs a read.
 */
#define OTHER_NAME_SLOTS 16
volatile __u64 nmethod_names[2];
volatile __u64 other_names[OTHER_NAME_SLOTS];

/* Whether a code blob named name is an nmethod (a compiled Java method or a native method's wrapper). */
static __always_inline int is_nmethod(__u64 name)
{
	/* "nmethod\0" and "native nmethod\0" as little-endian words */
	const __u64 nmethod = 0x00646f6874656d6eULL, native_n = 0x6e2065766974616eULL;
	__u32 slot = (__u32)(name >> 3) & (OTHER_NAME_SLOTS - 1);
	__u64 text[2] = {};

	if (!name)
		return 0;
	if (name == nmethod_names[0] || name == nmethod_names[1])
		return 1;
	if (name == other_names[slot])
		return 0;
	if (bpf_probe_read_user(text, sizeof(text), (void *)name))
		return 0;
	if (text[0] == nmethod) {
		nmethod_names[0] = name;
		return 1;
	}
	if (text[0] == native_n && (text[1] & 0x00ffffffffffffffULL) == 0x0000646f6874656dULL) {
		nmethod_names[1] = name;
		return 1;
	}
	other_names[slot] = name;
	return 0;
}

static __always_inline int java_frame_store(struct java_walk *w, struct stack_trace *trace, __u64 value)
{
	__u32 n = w->frames;

	if (n >= MAX_STACK_DEPTH)
		return -1;
	trace->ips[n] = value;
	w->frames = n + 1;
	w->java++;
	return 0;
}

/*
 * The oop in the field at offset of the object at obj, decoded; 0 when null or unreadable. Reads into scratch (the
 * walk's, in its map value: java_frame's callers leave little BPF stack).
 */
static __always_inline __u64 oop_field(__u64 obj, __u64 offset, __u64 *scratch)
{
	*scratch = 0;
	if (!obj)
		return 0;
	if (jvm.compressed_oops)
		return bpf_probe_read_user(scratch, sizeof(__u32), (void *)(obj + offset)) || !*scratch
			       ? 0
			       : jvm.narrow_oop_base + (*scratch << (jvm.narrow_oop_shift & 31));
	return bpf_probe_read_user(scratch, sizeof(*scratch), (void *)(obj + offset)) ? 0 : *scratch;
}

/* A virtual thread's continuation, and at most one nested in it (HotSpot's own use of the API). */
#define MAX_CONTINUATIONS 2
/* Chunks looked at for one with frames: HotSpot leaves at most an empty newest one before them. */
#define CHUNKS_TRIED 4
#define MAX_CHUNK_WORDS (1 << 24)

/*
 * Goes on at the top frame of the first chunk with frames from chunk on (itself, then its parents), as
 * StackChunkFrameStream does: its frames lie from sp to bottom, words after the chunk's fields, each frame's pc in
 * the word below its sp. The walk's reads are then bounded by the chunk. Returns 0, or -1 (the walk unchanged).
 */
static __always_inline int enter_chunk(struct java_walk *w, __u64 chunk)
{
	__u64 *field = &w->words[0], *top = &w->words[1];

	for (int i = 0; i < CHUNKS_TRIED && chunk; i++) {
		__s64 sp, bottom, size;

		*field = 0;
		if (bpf_probe_read_user(field, sizeof(__s32), (void *)(chunk + jvm.chunk_size)))
			return -1;
		size = *(__s32 *)field;
		if (bpf_probe_read_user(field, sizeof(__s32), (void *)(chunk + jvm.chunk_bottom)))
			return -1;
		bottom = *(__s32 *)field;
		if (bpf_probe_read_user(field, sizeof(__s32), (void *)(chunk + jvm.chunk_sp)))
			return -1;
		sp = *(__s32 *)field;
		if (size <= 0 || size > MAX_CHUNK_WORDS || bottom > size || sp < 0)
			return -1;
		if (sp >= bottom) { /* empty */
			chunk = oop_field(chunk, jvm.chunk_parent, field);
			continue;
		}
		if (sp < 2 || bpf_probe_read_user(top, 2 * sizeof(*top),
						  (void *)(chunk + jvm.chunk_stack + (__u64)(sp - 2) * 8)))
			return -1;
		w->chunk = chunk;
		w->lo = chunk + jvm.chunk_stack;
		w->hi = w->lo + (__u64)size * 8;
		w->chunk_end = w->lo + (__u64)bottom * 8;
		w->sp = w->lo + (__u64)sp * 8;
		w->pc = top[1];
		w->fp = w->sp - 16 + (top[0] << 3); /* an interpreted frame's saved fp is relative to its slot */
		w->in_chunk = 1;
		return 0;
	}
	return -1;
}

/*
 * A frame returned to the continuation's return barrier: its callers are frozen in the mounted virtual thread's
 * chunks (JavaThread::_vthread, VirtualThread.cont, Continuation.tail). Remembers the entry frame the carrier's
 * frames go on from (JavaThread::_cont_entry). Returns 0, or -1 when they cannot be found.
 */
static __always_inline int enter_continuation(struct java_walk *w)
{
	__u64 *word = &w->words[0], vthread, entry, entry_fp;

	if (w->continuations >= MAX_CONTINUATIONS ||
	    bpf_probe_read_user(word, sizeof(*word), (void *)(w->thread + jvm.thread_vthread)) || !*word ||
	    bpf_probe_read_user(word, sizeof(*word), (void *)*word) || !(vthread = *word) ||
	    bpf_probe_read_user(word, sizeof(*word), (void *)(w->thread + jvm.thread_cont_entry)) ||
	    !(entry = *word) || stack_word(w, entry + jvm.cont_entry_size, word))
		return -1;
	entry_fp = *word;
	w->stack_lo = w->lo;
	w->stack_hi = w->hi;
	if (enter_chunk(w, oop_field(oop_field(vthread, jvm.vthread_cont, word), jvm.cont_tail, word)))
		return -1;
	w->continuations++;
	w->entry_sp = entry;
	w->entry_fp = entry_fp;
	return 0;
}

/* The chunk's frames are done: on to its parent's, or to the entry frame (Continuation::continuation_parent_frame). */
static __always_inline void leave_chunk(struct java_walk *w)
{
	__u64 parent = oop_field(w->chunk, jvm.chunk_parent, &w->words[0]);

	if (parent && !enter_chunk(w, parent))
		return;
	w->in_chunk = 0;
	w->lo = w->stack_lo;
	w->hi = w->stack_hi;
	w->sp = w->entry_sp;
	w->fp = w->entry_fp;
	w->pc = jvm.cont_entry_return_pc;
}

/*
 * One step of the walk from the frame anchor, as HotSpot's frame::sender on x86-64 (native/src/jvm_frame_walk.c does
 * the same in process): an interpreted frame is stored as its Method* with the bytecode index, a compiled one as its
 * pc (the agent's code map names it, with what was inlined); a stub's frame is crossed by its frame size; an entry
 * frame (the call stub) leads, through its JavaCallWrapper's anchor, to the Java frames of an outer Java call, or
 * ends the walk at the thread's first one. On a virtual thread, a frame that returns to the continuation's return
 * barrier leads to its callers frozen in the Java heap (enter_continuation), and the continuation's entry frame ends
 * the walk. Returns 0 to go on, 1 to stop.
 * A global function, verified once on its own: as the body of the bpf_loop callback it was verified again for every
 * state the walk could be in when it started (the combinations of usable code heaps, of Java frames stored...).
 */
__noinline long java_frame(struct java_walk *w, struct stack_trace *trace)
{
	__u64 sp, fp, pc, caller_sp = 0, caller_fp = 0, caller_pc = 0;

	if (!w || !trace)
		return 1;
	sp = w->sp;
	fp = w->fp;
	pc = w->pc;
	if (w->frames >= MAX_STACK_DEPTH)
		return 1;
	if (sp < w->lo || sp >= w->hi)
		goto failed;
	if (pc == jvm.cont_return_barrier && pc && !w->in_chunk)
		return enter_continuation(w) ? (w->ended = JAVA_WALK_FAILED, 1) : 0;
	if (pc == jvm.call_stub_return) {
		__u64 wrapper = 0, anchor[JVM_ANCHOR_BYTES / 8];

		if (stack_word(w, fp + jvm.call_wrapper_slot, &wrapper) ||
		    stack_read(w, wrapper + jvm.call_wrapper_anchor + jvm.anchor_first, anchor, sizeof(anchor)))
			goto failed;
		caller_sp = anchor_word(anchor, jvm.anchor_sp);
		if (!caller_sp) {
			w->ended = JAVA_WALK_BOTTOM; /* pc and fp stay: the native callers go on from the call stub */
			return 1;
		}
		caller_fp = anchor_word(anchor, jvm.anchor_fp);
		caller_pc = anchor_word(anchor, jvm.anchor_pc);
		if (caller_sp <= sp || (!caller_pc && stack_word(w, caller_sp - 8, &caller_pc)))
			goto failed;
		goto next;
	}
	if (pc >= interpreter_start && pc < interpreter_end) {
		__u64 method, bcp, const_method = 0, value, bci;

		/* The frame's words in one read: method, bcp, sender sp, saved fp, return address. */
		if (stack_read(w, fp - INTERPRETER_FRAME_BCP_OFFSET, w->words, sizeof(w->words)))
			goto failed;
		method = w->words[INTERPRETER_FRAME_WORD(-INTERPRETER_FRAME_METHOD_OFFSET)];
		bcp = w->words[INTERPRETER_FRAME_WORD(-INTERPRETER_FRAME_BCP_OFFSET)];
		caller_sp = w->words[INTERPRETER_FRAME_WORD(-INTERPRETER_FRAME_SENDER_SP_OFFSET)];
		caller_fp = w->words[INTERPRETER_FRAME_WORD(0)];
		caller_pc = w->words[INTERPRETER_FRAME_WORD(8)];
		if (w->in_chunk) {
			/* Frozen, HotSpot keeps these as words relative to fp (the saved fp: to its own slot, fp). */
			caller_sp = fp + (caller_sp << 3);
			caller_fp = fp + (caller_fp << 3);
		}
		if (!method || (method & ~FRAME_METHOD_MASK) || caller_sp <= sp)
			goto failed;
		value = method | FRAME_INTERPRETED;
		/*
		 * The bytecode index when bcp lies past the method's header (a native method has none: its line is
		 * unknown). That it lies within the code, the agent checks when it names the line: a read less here.
		 */
		if (bcp && !bpf_probe_read_user(&const_method, sizeof(const_method),
						(void *)(method + jvm.method_const_method))) {
			bci = bcp - (const_method + jvm.const_method_size);
			if (bcp >= const_method + jvm.const_method_size && bci <= FRAME_BCI_MAX)
				value |= (bci + 1) << FRAME_BCI_SHIFT;
		}
		if (java_frame_store(w, trace, value))
			return 1;
		/* The chunk's last frame: its locals (relative to fp) reach the chunk's bottom. */
		if (w->in_chunk &&
		    fp + (w->words[INTERPRETER_FRAME_WORD(-INTERPRETER_FRAME_LOCALS_OFFSET)] << 3) + 8 >= w->chunk_end)
			goto chunk_done;
		goto next;
	}
	{
		const __u64 mask = JVM_BLOCK_HEADER_BYTES - 1;
		__u64 block = find_block(pc), blob, name, link[2];
		__s32 size, words;

		/* The block's and its blob's headers in one read: used flag, size, frame size, name. */
		if (!block || bpf_probe_read_user(w->header, JVM_BLOCK_HEADER_BYTES, (void *)block) ||
		    !w->header[jvm.block_used & mask])
			goto failed;
		blob = block + jvm.block_size;
		size = *(__s32 *)&w->header[(jvm.block_size + jvm.blob_size) & mask];
		words = *(__s32 *)&w->header[(jvm.block_size + jvm.blob_frame_size) & mask];
		name = *(__u64 *)&w->header[(jvm.block_size + jvm.blob_name) & mask];
		if (size <= 0 || pc < blob || pc >= blob + (__u64)size || words <= 0 || words > MAX_FRAME_WORDS)
			goto failed;
		if (is_nmethod(name) && java_frame_store(w, trace, pc))
			return 1;
		if (blob == jvm.cont_enter_special && blob) {
			w->ended = JAVA_WALK_CONTINUATION;
			return 1;
		}
		/* The caller's saved fp and return address, below the caller's sp, in one read. */
		caller_sp = sp + (__u64)words * 8;
		if (w->in_chunk && caller_sp + 16 >= w->chunk_end)
			goto chunk_done;
		if (stack_read(w, caller_sp - 16, link, sizeof(link)))
			goto failed;
		caller_fp = w->in_chunk ? caller_sp - 16 + (link[0] << 3) : link[0];
		caller_pc = link[1];
	}
next:
	w->sp = caller_sp;
	w->fp = caller_fp;
	w->pc = caller_pc;
	return 0;
chunk_done:
	leave_chunk(w);
	return 0;
failed:
	w->ended = JAVA_WALK_FAILED;
	return 1;
}

/* The walk and where its frames go, for the bpf_loop callback. */
struct java_walk_loop {
	struct java_walk *walk;
	struct stack_trace *trace;
};

/* bpf_loop callback: one frame of the walk from the frame anchor (0 goes on, 1 stops). */
static long java_walk_step(__u32 index, void *data)
{
	struct java_walk_loop *loop = data;

	return java_frame(loop->walk, loop->trace) ? 1 : 0;
}

/*
 * The stack of an allocation on a Java thread: the native frames from the allocator's caller up to where the
 * thread's Java frames begin, then the Java frames walked from the thread's frame anchor (set by HotSpot whenever a
 * thread is in native code or in the VM), then the native callers of its first Java call (a virtual thread's end at
 * its continuation's entry: below are its carrier's, the scheduler's). The anchor does not depend
 * on the native code's frame pointers, so the Java method that made a JNI, JNA or FFM call and its callers are named
 * through libraries built without them. Returns the frames, or 0 when this thread has no usable anchor (the caller
 * then walks as for any thread). A global function, like the steps it calls: each is verified once, on its own.
 */
__noinline __u32 walk_with_anchor(__u64 ip, __u64 fp, __u64 sp, __u32 tid, struct pending_call *p)
{
	__u64 *thread = bpf_map_lookup_elem(&java_threads, &tid);
	struct java_walk_loop loop;
	struct stack_trace *trace;
	struct java_walk *w;
	struct frame_bounds bounds;
	__u64 java_thread, anchor[JVM_ANCHOR_BYTES / 8], frames;

	if (!thread || !p || !jvm.ready)
		return 0;
	trace = &p->stack;
	w = &p->walk;
	loop.walk = w;
	loop.trace = trace;
	w->frames = w->java = w->ended = 0;
	java_thread = *thread;
	w->thread = java_thread;
	w->in_chunk = w->continuations = 0;
	if (bpf_probe_read_user(&w->hi, sizeof(w->hi), (void *)(java_thread + jvm.thread_stack_base)) ||
	    w->hi <= sp || w->hi - sp > (1ULL << 32) ||
	    bpf_probe_read_user(anchor, sizeof(anchor), (void *)(java_thread + jvm.thread_anchor + jvm.anchor_first)))
		return 0;
	w->sp = anchor_word(anchor, jvm.anchor_sp);
	w->fp = anchor_word(anchor, jvm.anchor_fp);
	w->pc = anchor_word(anchor, jvm.anchor_pc);
	if (w->sp < sp || w->sp >= w->hi)
		return 0; /* not in native code or the VM (no anchor), or not this thread's JavaThread */
	w->lo = sp;
	if (!w->pc && stack_word(w, w->sp - 8, &w->pc))
		return 0;
	/* The native frames below the Java ones: a caller's return address at or above the last Java sp - 8 is Java's. */
	bounds.lo = sp;
	bounds.hi = w->sp - 8;
	w->frames = walk_stack(ip, fp, trace, 0, &bounds);
	/* A JNI function that tail-calls the allocator returns straight into Java: that frame is the anchor walk's. */
	if (w->frames > 0) {
		__u64 last = (__u64)w->frames - 1, value;

		asm volatile("" : "+r"(last));
		if (last < MAX_STACK_DEPTH) {
			value = trace->ips[last];
			if ((value & FRAME_TAG_MASK) == FRAME_INTERPRETED || in_code_heap(value))
				w->frames = (__u32)last;
		}
	}
	bpf_loop(MAX_STACK_DEPTH, java_walk_step, &loop, 0);
	if (!w->java) {
		stat_add(STAT_JAVA_WALK_PARTIAL, 1);
		return 0; /* nothing named: the plain walk may do better */
	}
	frames = w->frames;
	if (w->ended == JAVA_WALK_BOTTOM && frames < MAX_STACK_DEPTH)
	{
		bounds.lo = w->sp;
		bounds.hi = w->hi;
		frames = walk_stack(w->pc, w->fp, trace, frames, &bounds);
	}
	else if (w->ended == JAVA_WALK_FAILED)
		stat_add(STAT_JAVA_WALK_PARTIAL, 1);
	return frames;
}

struct stack_hash {
	const struct stack_trace *trace;
	__u64 hash;
};

/* bpf_loop callback: hashes frame i (a loop would be verified once per frame). */
static long hash_frame(__u32 i, void *data)
{
	struct stack_hash *h = data;

	if (i >= MAX_STACK_DEPTH)
		return 1;
	h->hash ^= h->trace->ips[i];
	h->hash *= 1099511628211ULL;
	return 0;
}

/* Walks the user stack into the thread's slot and stores it once; returns its id or 0. */
static __always_inline __u64 store_stack(__u64 ip, __u64 fp, __u64 sp, __u32 tid, struct pending_call *p)
{
	struct stack_hash hashing = { .hash = 14695981039346656037ULL }; /* FNV-1a over the frames */
	__u64 hash;
	__u32 frames = walk_with_anchor(ip, fp, sp, tid, p), slot;
	__u64 *stored;
	long err;

	if (!frames) {
		struct frame_bounds anywhere = { 0, ~0ULL };

		frames = walk_stack(ip, fp, &p->stack, 0, &anywhere);
	}
	/* The slot is reused: end the stack here, before frames of an earlier, deeper one. */
	if (frames < MAX_STACK_DEPTH)
		p->stack.ips[frames] = 0;

	if (frames == 0) {
		stat_add(STAT_DROPPED_STACK_ERROR, 1);
		return 0;
	}
	hashing.trace = &p->stack;
	bpf_loop(frames, hash_frame, &hashing, 0);
	hash = hashing.hash | 1; /* 0 means "no stack" */
	slot = stored_stack_slot(hash);
	stored = bpf_map_lookup_elem(&stored_stacks, &slot);
	if (stored && *stored == hash)
		return hash;
	err = bpf_map_update_elem(&stacks, &hash, &p->stack, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		stat_add(STAT_DROPPED_STACKS_FULL, 1);
		return 0;
	}
	if (!err)
		stat_add(STAT_STACKS_STORED, 1); /* user space keeps `stacks` from filling by this count */
	if (stored)
		*stored = hash;
	return hash;
}

/* Stores a new block's record: in `allocs` while it has room, then in allocs_overflow. */
static __always_inline long store_block(__u64 addr, const struct alloc_info *info)
{
	long err = bpf_map_update_elem(&allocs, &addr, info, BPF_NOEXIST);

	if (err != -E2BIG || !allocs_overflow_enabled)
		return err;
	if (!allocs_overflow_used) /* written once: every free reads this line */
		allocs_overflow_used = 1;
	return bpf_map_update_elem(&allocs_overflow, &addr, info, BPF_NOEXIST);
}

/*
 * Records the block at addr for the call in p; the stack walk starts at ip (the allocator's caller) with frame fp, and
 * the thread's stack pointer is sp.
 */
static __always_inline void record(__u64 ip, __u64 fp, __u64 sp, struct pending_call *p, __u32 tid, __u64 addr)
{
	struct alloc_info info = {
		.tags = alloc_tags(p->size, p->func, p->setting),
		.timestamp_ns = p->timestamp_ns,
	};
	__u32 *slot = bpf_map_lookup_elem(&thread_slots, &tid);
	__u64 est_bytes, est_count_milli;
	long err;

	if (slot) {
		/* Inside a wrapped JNI method: keep the call's mark, and tell the wrapper it was hit. */
		struct jni_mark *mark = bpf_map_lookup_elem(&jni_marks, slot);
		__u64 value = mark ? *(volatile __u64 *)&mark->mark : 0;

		if (value == JNI_MARK_AGENT) {
			/* The agent capturing this thread's Java callers (JVMTI allocates): not the application's. */
			stat_add(STAT_IGNORED_CALLS, 1);
			return;
		}
		if (value) {
			info.java_mark = value;
			*(volatile __u64 *)&mark->hit = value;
		}
	}
	info.stack_id = store_stack(ip, fp, sp, tid, p);
	/* Still tracked: its free went by a path we do not see. The new block replaces it. */
	if (allocs_overflow_used && bpf_map_lookup_elem(&allocs_overflow, &addr))
		release(addr);
	err = store_block(addr, &info);
	if (err == -EEXIST) {
		release(addr);
		err = store_block(addr, &info);
	}
	if (err) {
		stat_add(STAT_DROPPED_ALLOCS_FULL, 1);
		/*
		 * The stack is stored all the same: counters of nothing make it one that user space can forget once it
		 * stays idle (report/StackForgetting), as it forgets the stacks of blocks that were freed.
		 */
		combined_add(info.stack_id, 0, 0, 0, 0);
		return;
	}
	sampling_weights(p->size, sampling_setting(p->setting), &est_bytes, &est_count_milli);
	combined_add(info.stack_id, p->size, 1, est_bytes, est_count_milli);
	stat_add(STAT_ALLOC_TRACKED, 1);
	stat_add(STAT_BYTES_TRACKED, p->size);
}

/* A fresh per-thread slot for tid (the map is LRU: a dead thread's slot is recycled). */
static __always_inline struct pending_call *new_thread_slot(__u32 tid)
{
	__u32 zero = 0;
	struct pending_call *blank = bpf_map_lookup_elem(&pending_template, &zero);

	if (!blank)
		return NULL;
	bpf_map_update_elem(&pending, &tid, blank, BPF_ANY);
	return bpf_map_lookup_elem(&pending, &tid);
}

/*
 * Decides whether this call is tracked: not from the agent's own threads, within the size range, and
 * chosen by sampling. By count (sample_rate: 1 in N) every tracked call weighs N; by bytes
 * (sample_bytes = R) a call of s < R bytes is tracked with probability s/R and then stands for R bytes
 * and R/s calls, one of s >= R bytes always and for itself: both estimates are unbiased.
 */
static __always_inline int choose(__u64 size, __u32 *setting)
{
	__u32 index = sampling_current & (SAMPLING_SETTINGS - 1);
	__u32 word = sampling_setting(index);
	__u64 value = SAMPLING_VALUE(word);

	if (!tracking_enabled || size < min_size || size > max_size)
		return 0;
	*setting = index;
	if ((word & SAMPLING_BY_BYTES) ? size >= value : value <= 1)
		return 1; /* no random draw needed */
	return sampling_chooses(size, word, bpf_get_prandom_u32());
}

/*
 * The entry of an allocating call. Returns whether its return must be seen: always with classic
 * return probes (they fire anyway); with uprobe sessions only for a tracked call or a realloc of a
 * tracked block, so that most calls under sampling never pay for a return probe.
 */
static __always_inline int on_alloc_enter(struct pt_regs *ctx, __u32 func, __u64 size, __u64 old_ptr,
					  __u64 memptr, int session)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u64 now, sp = PT_REGS_SP(ctx);
	__u32 setting = 0;
	struct pending_call *p;
	int tracked = 0, ignored;

	if (!is_target_process(pid_tgid))
		return 0;
	ignored = bpf_map_lookup_elem(&ignored_threads, &tid) != NULL;
	stat_add(ignored ? STAT_IGNORED_CALLS : STAT_ALLOC_CALLS, 1);
	if (!ignored) {
		tracked = choose(size, &setting);
		if (tracked)
			stat_add(STAT_ALLOC_SAMPLED, 1);
	}
	if (session && !tracked && !(old_ptr && bpf_map_lookup_elem(&allocs, &old_ptr)))
		return 0;

	now = bpf_ktime_get_ns();
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->depth > 0) {
		/* Called from inside the allocator (a deeper stack), or tail-called by it (the same stack
		 * pointer: glibc's realloc(NULL, n) jumps to malloc): the outer call records. */
		if (sp <= p->entry_sp && now - p->timestamp_ns < STALE_PENDING_NS) {
			if (session)
				return 0; /* its return is not asked for, so depth stays */
			p->depth++;
			return 1;
		}
		stat_add(STAT_STALE_PENDING, 1); /* its return never came (longjmp, lost probe) */
	}
	if (!p && !(p = new_thread_slot(tid)))
		return 0;
	p->func = func;
	p->depth = 1;
	p->size = size;
	p->old_ptr = old_ptr;
	p->memptr = memptr;
	p->entry_sp = sp;
	p->timestamp_ns = now;
	p->tracked = tracked;
	p->session = session;
	p->setting = setting;
	return 1;
}

static __always_inline int on_alloc_return(struct pt_regs *ctx, __u64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending_call *p;
	__u64 addr = ret;

	if (!is_target_process(pid_tgid))
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p || p->depth == 0) {
		stat_add(STAT_DROPPED_NO_PENDING, 1);
		return 0;
	}
	if (p->depth > 1) {
		p->depth--;
		return 0;
	}
	p->depth = 0;

	switch (p->func) {
	case FUNC_POSIX_MEMALIGN:
		/* Returns 0 or an error number; the block comes back through *memptr. */
		if ((int)ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)p->memptr) || !addr) {
			stat_add(STAT_ALLOC_FAILED, 1);
			return 0;
		}
		break;
	case FUNC_REALLOC:
	case FUNC_REALLOCARRAY:
		if (!ret) {
			if (p->size == 0 && p->old_ptr)
				release(p->old_ptr); /* realloc(p, 0) frees p and returns NULL */
			else
				stat_add(STAT_ALLOC_FAILED, 1); /* failed: the old block is untouched */
			return 0;
		}
		if (p->old_ptr)
			release(p->old_ptr); /* moved or resized in place: either way a new record */
		break;
	default:
		if (!ret) {
			stat_add(STAT_ALLOC_FAILED, 1);
			return 0;
		}
	}
	if (p->tracked)
		record(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx), p, tid, addr);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(alloc_return, __u64 ret)
{
	return on_alloc_return(ctx, ret);
}

/*
 * The entry of every allocating function goes through one program, told the function by the probe's attach cookie,
 * in two forms: a classic uprobe beside the shared return probe above, and a uprobe session program (kernel 6.13+)
 * that sees both the entry and the return, and skips the return when the entry does not need it. The loader uses
 * sessions where the kernel has them. One program rather than one per function: the kernel verifies each program
 * loaded, and the stack walk it carries is most of that work.
 */
extern _Bool bpf_session_is_return(void) __ksym __weak;

/* The entry of an allocating call: what it asks for, from its arguments (x86-64 calling convention). */
static __always_inline int alloc_call_enter(struct pt_regs *ctx, int session)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);
	__u64 arg1 = PT_REGS_PARM1(ctx), arg2 = PT_REGS_PARM2(ctx), arg3 = PT_REGS_PARM3(ctx);
	__u64 size = arg2, old_ptr = 0, memptr = 0;

	switch (func) {
	case FUNC_MALLOC: /* malloc(size), valloc(size), pvalloc(size) */
	case FUNC_VALLOC:
	case FUNC_PVALLOC:
		size = arg1;
		break;
	case FUNC_CALLOC: /* calloc(nmemb, size) */
		size = arg1 * arg2;
		break;
	case FUNC_REALLOC: /* realloc(ptr, size) */
		old_ptr = arg1;
		break;
	case FUNC_REALLOCARRAY: /* reallocarray(ptr, nmemb, size) */
		old_ptr = arg1;
		size = arg2 * arg3;
		break;
	case FUNC_POSIX_MEMALIGN: /* posix_memalign(memptr, alignment, size) */
		memptr = arg1;
		size = arg3;
		break;
	case FUNC_ALIGNED_ALLOC: /* aligned_alloc(alignment, size), memalign(alignment, size) */
	case FUNC_MEMALIGN:
		break;
	default:
		return 0;
	}
	return on_alloc_enter(ctx, func, size, old_ptr, memptr, session);
}

SEC("uprobe")
int BPF_UPROBE(alloc_enter)
{
	alloc_call_enter(ctx, 0);
	return 0;
}

/* A session program returns 0 to see the call's return, 1 to skip it. */
SEC("uprobe.multi")
int BPF_UPROBE(alloc_session)
{
	if (bpf_session_is_return())
		return on_alloc_return(ctx, PT_REGS_RC(ctx));
	return alloc_call_enter(ctx, 1) ? 0 : 1;
}

SEC("uprobe")
int BPF_UPROBE(free_enter, __u64 ptr)
{
	if (!is_target_process(bpf_get_current_pid_tgid()) || !ptr)
		return 0;
	release(ptr);
	return 0;
}

/*
 * probe-mode=hooks: the in-process hooks (native/src/alloc_hooks.c) decided already that this call is sampled, and
 * call a probe site of the agent's library with the block, its size, func | setting index << 8 in tags, and the
 * hook's frame. The stack starts at the hook's return address (the allocating function, as at a return probe) and
 * its caller's frame: the agent's own frames (probe site, hook) are never part of it. No return probe: the hook
 * has the result already.
 */
static __always_inline int hook_alloc(struct pt_regs *ctx, __u64 ptr, __u64 size, __u64 tags, __u64 frame)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct {
		__u64 next_fp;
		__u64 return_address;
	} hook_frame = {};
	struct pending_call *p;

	if (!is_target_process(pid_tgid) || !ptr)
		return 0;
	if (bpf_map_lookup_elem(&ignored_threads, &tid)) {
		stat_add(STAT_IGNORED_CALLS, 1);
		return 0;
	}
	stat_add(STAT_ALLOC_SAMPLED, 1);
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p && !(p = new_thread_slot(tid)))
		return 0;
	p->size = size;
	p->func = (__u32)(tags & 0xff);
	p->setting = (__u32)(tags >> 8) & (SAMPLING_SETTINGS - 1);
	p->timestamp_ns = bpf_ktime_get_ns();
	bpf_probe_read_user(&hook_frame, sizeof(hook_frame), (void *)frame);
	record(hook_frame.return_address, hook_frame.next_fp, PT_REGS_SP(ctx), p, tid, ptr);
	return 0;
}

/* A sampled block is freed (the hooks call this site only for addresses they sampled). */
static __always_inline int hook_free(__u64 ptr)
{
	if (!is_target_process(bpf_get_current_pid_tgid()) || !ptr)
		return 0;
	release_block(ptr, 0); /* the hooks count every free call themselves */
	return 0;
}

/*
 * Both probe sites, told apart by the attach cookie: one program, so that one uprobe_multi link holds both sites and
 * the JVM's exit detaches one link, whose release waits for its grace periods once (two links took about twice as
 * long, side by side). The free site's call has only the block: the other arguments are not read there.
 */
SEC("uprobe")
int BPF_UPROBE(hook_site, __u64 ptr, __u64 size, __u64 tags, __u64 frame)
{
	if (bpf_get_attach_cookie(ctx) == HOOK_SITE_FREE)
		return hook_free(ptr);
	return hook_alloc(ctx, ptr, size, tags, frame);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
