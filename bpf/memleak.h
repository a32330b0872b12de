/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plain-data types shared by the BPF program (memleak.bpf.c) and the JNI loader
 * (native/src/bpf_loader.c). Only fixed-width integers: both compilers must agree on layout.
 */
#ifndef MEMLEAK4J_MEMLEAK_H
#define MEMLEAK4J_MEMLEAK_H

#define MAX_STACK_DEPTH 127

/* The attach cookie of the hooks' probe sites (probe-mode=hooks; hook_site in memleak.bpf.c). */
enum hook_site_kind {
	HOOK_SITE_ALLOC = 0,
	HOOK_SITE_FREE = 1,
};

/* Which allocator function a probe belongs to; carried in the low byte of the attach cookie. */
enum alloc_func {
	FUNC_MALLOC = 0,
	FUNC_CALLOC,
	FUNC_REALLOC,
	FUNC_REALLOCARRAY,
	FUNC_POSIX_MEMALIGN,
	FUNC_ALIGNED_ALLOC,
	FUNC_MEMALIGN,
	FUNC_VALLOC,
	FUNC_PVALLOC,
	FUNC_FREE,
	FUNC_COUNT,
};

/* Each entry probe is attached with its alloc_func as the BPF attach cookie. */

/*
 * One outstanding allocation, keyed by its address in the `allocs` map. Under sampling a tracked
 * allocation stands for more than itself: its weights (sampling_weights) come from the sampling
 * setting it was chosen under, kept by index, so that a later change of the sampling does not
 * re-weigh it.
 */
struct alloc_info {
	__u64 tags;            /* size (bits 0-47) | alloc_func << 48 | sampling setting index << 56 */
	__u64 timestamp_ns;    /* CLOCK_MONOTONIC, as System.nanoTime() */
	__u64 stack_id;        /* key into `stacks`; 0 = stack unknown (map full or walk failed) */
	__u64 java_mark;       /* the thread's JNI mark when it allocated (see struct jni_mark); 0: none */
};
/*
 * 32 bytes on purpose. A hash element is a 48-byte header, the 8-byte key and the value, and the
 * kernel's BPF allocator adds an 8-byte list node: 48 + 8 + 32 + 8 = 96 bytes is one object of its
 * 96-byte cache; a 40-byte value (104 bytes) would take a 128-byte object. A block that succeeded
 * is below 2^47 bytes on x86-64, so 48 bits hold its size.
 */
/*
 * Tracked blocks kept in the table allocated when the map is created (`allocs`); more go to a table whose elements are
 * allocated as they come (allocs_overflow), up to max-allocs in all. 32,768 elements are 3.4 MB of kernel memory.
 */
#define ALLOCS_PREALLOCATED (1 << 15)

#define ALLOC_SIZE_MASK ((1ULL << 48) - 1)
#define ALLOC_FUNC_SHIFT 48
#define ALLOC_SETTING_SHIFT 56

static inline __u64 alloc_tags(__u64 size, __u32 func, __u32 setting)
{
	return (size & ALLOC_SIZE_MASK) | (__u64)(func & 0xff) << ALLOC_FUNC_SHIFT |
	       (__u64)(setting & 0xff) << ALLOC_SETTING_SHIFT;
}

static inline __u64 alloc_size(__u64 tags)
{
	return tags & ALLOC_SIZE_MASK;
}

static inline __u32 alloc_func(__u64 tags)
{
	return (__u32)(tags >> ALLOC_FUNC_SHIFT) & 0xff;
}

static inline __u32 alloc_setting(__u64 tags)
{
	return (__u32)(tags >> ALLOC_SETTING_SHIFT);
}

/*
 * The sampling settings used since the start, indexed by alloc_info's setting index: the loader
 * appends a setting when the sampling changes and then publishes its index; entries never change
 * once published. A setting word: the top bit says "by bytes", the rest is the interval or the rate.
 */
#define SAMPLING_SETTINGS 256
#define SAMPLING_BY_BYTES 0x80000000u
#define SAMPLING_VALUE(s) ((s) & ~SAMPLING_BY_BYTES)

/*
 * The unbiased weights of one tracked allocation (see choose() in memleak.bpf.c): by bytes with interval
 * R, an allocation of s < R bytes stands for R bytes and R/s allocations, one of s >= R for itself; by
 * count with rate N, for N times itself. Shared by the kernel side (per-stack counters) and the loader
 * (the estimates it hands the agent), so both count the same.
 */
static inline void sampling_weights(__u64 size, __u32 sampling, __u64 *est_bytes, __u64 *est_count_milli)
{
	__u64 value = SAMPLING_VALUE(sampling);

	if (sampling & SAMPLING_BY_BYTES) {
		if (size >= value || size == 0) {
			*est_bytes = size;
			*est_count_milli = 1000;
		} else {
			*est_bytes = value;
			*est_count_milli = value * 1000 / size;
		}
		return;
	}
	if (value == 0)
		value = 1;
	*est_bytes = size * value;
	*est_count_milli = 1000 * value;
}

/*
 * Whether an allocation of size bytes is tracked under a sampling setting word, given a uniform 32-bit random draw:
 * by bytes with interval R, always when size >= R, else with probability size/R; by count with rate N, one in N.
 * The one rule for both places that decide: the BPF side (probe-mode=uprobes) and the in-process hooks.
 */
static inline int sampling_chooses(__u64 size, __u32 word, __u32 random)
{
	__u64 value = SAMPLING_VALUE(word);

	if (word & SAMPLING_BY_BYTES)
		return size >= value || (((__u64)random * value) >> 32) < size;
	return value <= 1 || random % value == 0;
}

/*
 * One Java thread's slot in the mmap-able `jni_marks` array, which the JVM writes and BPF reads. While the thread
 * is inside a wrapped JNI method, `mark` is that call's non-zero mark (0 outside). An allocation recorded under a
 * mark carries it (alloc_info.java_mark), and BPF sets `hit` to it, so that the wrapper, when the call returns, knows
 * to capture the Java stack and bind it to the mark: the Java half of a stack the frame-pointer walk cannot reach.
 */
/* A slot's mark while the agent itself works on that thread (capturing the Java callers): nothing is recorded then. */
#define JNI_MARK_AGENT (~0ULL)

struct jni_mark {
	__u64 mark;
	__u64 hit;
};

/*
 * Per-stack counters, keyed by stack id in the `combined` map: outstanding (tracked, and estimated in all), and
 * allocated since the probes were attached (estimated; frees do not take from these), for pprof's alloc_* values.
 * An entry stays when all of its blocks are freed: the allocated counters still count.
 */
struct combined_info {
	__u64 bytes;
	__u64 count;
	__u64 est_bytes;
	__u64 est_count_milli;
	__u64 alloc_est_bytes;
	__u64 alloc_est_count_milli;
};

/*
 * Frames of an interpreted Java method are stored as its Method* with this tag (user addresses
 * on x86-64 are below 2^47, so the high bits are free).
 */
#define FRAME_INTERPRETED (1ULL << 62)
#define FRAME_TAG_MASK (3ULL << 62)
/* HotSpot x86-64: an interpreter frame keeps its Method* at [fp - 3 * wordSize]. */
#define INTERPRETER_FRAME_METHOD_OFFSET (3 * 8)
/* ... its bytecode pointer at [fp - 8 * wordSize] and its caller's sp at [fp - 1 * wordSize] (frame_x86.hpp). */
#define INTERPRETER_FRAME_BCP_OFFSET (8 * 8)
#define INTERPRETER_FRAME_SENDER_SP_OFFSET (1 * 8)
#define INTERPRETER_FRAME_LOCALS_OFFSET (7 * 8)
/* The words of an interpreter frame the walk needs, from its bcp's slot up to its return address at [fp + 8]. */
#define INTERPRETER_FRAME_WORDS ((INTERPRETER_FRAME_BCP_OFFSET + 16) / 8)
/* The index in those words of the word at fp + offset. */
#define INTERPRETER_FRAME_WORD(offset) ((INTERPRETER_FRAME_BCP_OFFSET + (offset)) / 8)

/*
 * An interpreted frame walked from the frame anchor also carries its bytecode index, so that the agent can name its
 * line: bits 47-61 hold bci + 1 (0: unknown; a bci of 32767 or more is left unknown). A Method* lies below 2^47.
 */
#define FRAME_BCI_SHIFT 47
#define FRAME_BCI_MAX 0x7ffeULL
#define FRAME_METHOD_MASK ((1ULL << FRAME_BCI_SHIFT) - 1)

/*
 * HotSpot's layout for the walk of a thread's Java frames from its frame anchor (JavaThread::_anchor), written by the
 * agent (native/src/jvm_anchor.c) from VMStructs before any probe is attached; ready == 0: no such walk. Offsets are
 * in bytes. The code heaps are described by what stays fixed once the JVM runs (their reserved bounds, segment maps
 * and segment sizes), so that the walk reads none of it from the JVM per call: a pc in a part of a heap not yet
 * committed fails the read of its segment map. The fields that the walk reads together lie within a few words of
 * each other: the agent checks that they fit the windows below before it sets ready.
 */
#define JVM_CODE_HEAPS 3
/* The frame anchor's sp, fp and pc: one read of this many bytes from anchor_first. */
#define JVM_ANCHOR_BYTES 32
/* A code heap block's header and its blob's header (used flag, size, frame size, name): one read from the block. */
#define JVM_BLOCK_HEADER_BYTES 128
struct jvm_layout {
	__u64 ready;
	__u64 thread_anchor;       /* JavaThread::_anchor */
	__u64 thread_stack_base;   /* JavaThread::_stack_base */
	__u64 anchor_sp, anchor_fp, anchor_pc; /* JavaFrameAnchor::_last_Java_* */
	__u64 call_wrapper_anchor; /* JavaCallWrapper::_anchor */
	__s64 call_wrapper_slot;   /* bytes from an entry frame's fp to its JavaCallWrapper* */
	__u64 call_stub_return;    /* StubRoutines::_call_stub_return_address */
	__u64 anchor_first;        /* the lowest of anchor_sp, anchor_fp, anchor_pc */
	__u64 heap_low[JVM_CODE_HEAPS], heap_high[JVM_CODE_HEAPS]; /* reserved bounds; 0, 0: no such heap */
	__u64 heap_segmap[JVM_CODE_HEAPS]; /* the segment map's start */
	__u64 heap_log2[JVM_CODE_HEAPS];   /* log2 of the segment size */
	__u64 block_size, block_used; /* sizeof(HeapBlock), HeapBlock::Header::_used */
	__u64 blob_name, blob_size, blob_frame_size; /* CodeBlob:: */
	__u64 method_const_method; /* Method::_constMethod */
	__u64 const_method_size;   /* sizeof(ConstMethod): the bytecodes follow it */
	/*
	 * A mounted virtual thread's frozen frames (JDK 21+, native/src/jvm_continuations.c); cont_return_barrier 0:
	 * the walk ends where a thawed frame returns to the barrier.
	 */
	__u64 cont_return_barrier;  /* StubRoutines::_cont_returnBarrier */
	__u64 cont_entry_return_pc; /* ContinuationEntry::_return_pc: the carrier's entry frame's pc */
	__u64 cont_enter_special;   /* ContinuationEntry::_enter_special: that frame's nmethod, where the walk ends */
	__u64 cont_entry_size;      /* sizeof(ContinuationEntry): the entry frame's fp is the word after it */
	__u64 thread_cont_entry;    /* JavaThread::_cont_entry */
	__u64 thread_vthread;       /* JavaThread::_vthread: the address of the mounted virtual thread's oop */
	__u64 vthread_cont;         /* VirtualThread.cont */
	__u64 cont_tail;            /* Continuation.tail: the newest StackChunk */
	__u64 chunk_sp, chunk_bottom, chunk_size; /* StackChunk.sp, .bottom, .size: ints, in words from chunk_stack */
	__u64 chunk_parent;         /* StackChunk.parent: the next older chunk */
	__u64 chunk_stack;          /* where a StackChunk's words begin (InstanceStackChunkKlass::_offset_of_stack) */
	__u64 compressed_oops;      /* whether the oop fields above are 32-bit: base + (narrow << shift) */
	__u64 narrow_oop_base, narrow_oop_shift;
};

/* A user stack: ips[0] is the allocator's direct caller, then its callers; 0 ends the stack. */
struct stack_trace {
	__u64 ips[MAX_STACK_DEPTH];
};

/* The `stored_stacks` slot that remembers a stack id: the BPF side fills it, user space clears it when it forgets. */
#define STORED_STACK_SLOTS 4096
static inline __u32 stored_stack_slot(__u64 stack_id)
{
	return (__u32)(stack_id >> 1) & (STORED_STACK_SLOTS - 1);
}

/* Counters in the per-CPU `stats` array. Userspace sums the CPUs. */
enum stat {
	STAT_ALLOC_CALLS = 0,      /* allocator calls seen from the application's threads */
	STAT_ALLOC_SAMPLED,        /* ... of which chosen by sampling and size filters */
	STAT_ALLOC_TRACKED,        /* ... of which recorded (`allocs` or allocs_overflow) */
	STAT_ALLOC_FAILED,         /* allocations that returned NULL/error */
	STAT_DROPPED_ALLOCS_FULL,  /* not tracked: max-allocs blocks tracked already */
	STAT_DROPPED_STACKS_FULL,  /* tracked without a stack: `stacks` full */
	STAT_DROPPED_STACK_ERROR,  /* tracked without a stack: the walk failed */
	STAT_DROPPED_NO_PENDING,   /* return seen without its entry (per-thread state evicted) */
	STAT_DROPPED_COMBINED_FULL,/* per-stack counters missing: `combined` full */
	STAT_FREE_CALLS,           /* free() calls with a non-NULL pointer, realloc's implicit frees */
	STAT_FREE_TRACKED,         /* ... that released a tracked allocation */
	STAT_BYTES_TRACKED,        /* bytes of all allocations ever recorded */
	STAT_BYTES_FREED,          /* bytes of tracked allocations released */
	STAT_IGNORED_CALLS,        /* allocator calls from the agent's own threads or its own work on others */
	STAT_STALE_PENDING,        /* per-thread entry state found stale and replaced */
	STAT_JAVA_WALK_PARTIAL,    /* Java frames walked from the frame anchor ended early (unknown frame, bad read) */
	STAT_STACKS_STORED,        /* stacks put into `stacks` by the programs */
	STAT_STACKS_FORGOTTEN,     /* ... taken out by user space: nothing outstanding named them (written by user space) */
	STAT_STACKS_RESTORED,      /* ... put back by user space: named after all (written by user space) */
	STAT_COUNT,
};

#endif /* MEMLEAK4J_MEMLEAK_H */
