// SPDX-License-Identifier: Apache-2.0
/*
 * In-process allocator hooks. Every loaded object reaches the allocator through its import table: a GOT slot per
 * function, filled by the dynamic linker (R_X86_64_GLOB_DAT for address-taken and, in glibc, its own internal calls
 * to malloc and free; R_X86_64_JUMP_SLOT for PLT calls; R_X86_64_64 for pointers in data). Pointing those slots at
 * the hooks below makes every allocator call of the process pass here first, at the cost of one indirect call.
 *
 * A hook calls the real function, then decides with a per-thread random draw whether the call is sampled, with the
 * same rule and weights as the BPF side (sampling_chooses, sampling_weights in memleak.h). Only a sampled call enters
 * the kernel, once: it calls memleak4j_alloc_site, whose uprobe runs the BPF program that walks the stack and records
 * the block. Sampled addresses are kept in a lock-free set in this process, so that a free of anything else (nearly
 * every free) is decided here too; only the free of a sampled address calls memleak4j_free_site.
 *
 * The slots of dlopen, dlsym and dlvsym are hooked too: an object loaded later gets its slots redirected before
 * dlopen returns, and a pointer to an allocator function fetched by name while the hooks are installed is the hook
 * (one fetched before stays the allocator's own: nothing here can reach it).
 *
 * Rules that keep this safe in a running JVM:
 *  - nothing here allocates on a hook's path: per-thread state is initial-exec TLS (no lazy TLS allocation), the
 *    set and the slot records live in mmap'd memory, the real functions are resolved before any slot is changed;
 *  - a slot is written with one aligned 8-byte store; RELRO pages are made writable around it, never unreadable;
 *  - uninstall puts back only slots that still hold our hook, in objects still loaded; the hooks stay mapped (the
 *    library is never unloaded) and pass calls straight through afterwards, for threads still inside one or code
 *    that copied a slot's value or was handed a hook by dlsym;
 *  - this library's own slots are never changed: its dlsym calls get the real functions;
 *  - a child of fork() never reaches a probe site: Linux 6.18 does not give the child the trampoline an optimized
 *    uprobe calls (the child that called the site crashed), and its calls are not this process's anyway;
 *  - a call made from inside the real allocator (glibc's reallocarray calls realloc through its PLT) is not sampled
 *    again: the outer call is the one the application made.
 */
#define _GNU_SOURCE
#include "alloc_hooks.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/types.h>

#include "memleak.h"

/* The probe sites: a 5-byte nop (which Linux 6.18+ turns into a call when a uprobe sits on it) and a return. */
__asm__(".text\n"
	".globl memleak4j_alloc_site\n"
	".hidden memleak4j_alloc_site\n"
	".type memleak4j_alloc_site, @function\n"
	".p2align 4\n"
	"memleak4j_alloc_site:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	ret\n"
	".size memleak4j_alloc_site, .-memleak4j_alloc_site\n"
	".globl memleak4j_free_site\n"
	".hidden memleak4j_free_site\n"
	".type memleak4j_free_site, @function\n"
	".p2align 4\n"
	"memleak4j_free_site:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	ret\n"
	".size memleak4j_free_site, .-memleak4j_free_site\n");

/* frame: the hook's frame (saved frame pointer, return address into the allocating function). */
void memleak4j_alloc_site(void *ptr, uint64_t size, uint64_t tags, void *frame);
void memleak4j_free_site(void *ptr, void *frame);

/*
 * Runs function(a, b, c) with ret_byte as its return address: a ret instruction (0xc3) in another object's code, which
 * returns here. For dlopen, dlsym and dlvsym, which take their caller's object from the return address.
 */
__asm__(".text\n"
	".globl memleak4j_call_from\n"
	".hidden memleak4j_call_from\n"
	".type memleak4j_call_from, @function\n"
	".p2align 4\n"
	"memleak4j_call_from:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	sub $8, %rsp\n"         /* with the two pushes below: %rsp as after a call from an aligned frame */
	"	lea 1f(%rip), %rax\n"
	"	push %rax\n"            /* where the ret byte returns to */
	"	push %rdi\n"            /* the return address function sees: the ret byte */
	"	mov %rsi, %rax\n"
	"	mov %rdx, %rdi\n"
	"	mov %rcx, %rsi\n"
	"	mov %r8, %rdx\n"
	"	jmp *%rax\n"
	"1:	leave\n"
	"	ret\n"
	".size memleak4j_call_from, .-memleak4j_call_from\n");

void *memleak4j_call_from(const void *ret_byte, void *function, void *a, const void *b, const void *c);

#define HOOK_DLOPEN FUNC_COUNT
#define HOOK_DLSYM (FUNC_COUNT + 1)
#define HOOK_DLVSYM (FUNC_COUNT + 2)
#define HOOK_COUNT (FUNC_COUNT + 3)
#define SYMBOL_MAX 64

static const char *const base_names[HOOK_COUNT] = {
	[FUNC_MALLOC] = "malloc",
	[FUNC_CALLOC] = "calloc",
	[FUNC_REALLOC] = "realloc",
	[FUNC_REALLOCARRAY] = "reallocarray",
	[FUNC_POSIX_MEMALIGN] = "posix_memalign",
	[FUNC_ALIGNED_ALLOC] = "aligned_alloc",
	[FUNC_MEMALIGN] = "memalign",
	[FUNC_VALLOC] = "valloc",
	[FUNC_PVALLOC] = "pvalloc",
	[FUNC_FREE] = "free",
	[HOOK_DLOPEN] = "dlopen",
	[HOOK_DLSYM] = "dlsym",
	[HOOK_DLVSYM] = "dlvsym",
};
/* The names the import tables use: the allocator's symbols-prefix + the base name (the dl functions never prefixed). */
static char names[HOOK_COUNT][SYMBOL_MAX];

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static void (*real_free)(void *);
static void *(*real_dlopen)(const char *, int);
static void *(*real_dlsym)(void *, const char *);
static void *(*real_dlvsym)(void *, const char *, const char *);
/* The same, by hook index: what a function pointer fetched by name is compared with (NULL: not hooked). */
static void *real_functions[HOOK_COUNT];

/* Per-thread state. initial-exec: reached through %fs with no allocation, even on a thread's first call. */
struct thread_state {
	uint64_t random;  /* xorshift64 state; 0 until the thread's first draw */
	uint32_t calls;   /* allocator calls not yet added to `counts` */
	uint32_t frees;
	uint32_t busy;    /* inside a real allocator function called from a hook */
};
static __thread struct thread_state state __attribute__((tls_model("initial-exec")));
#define COUNT_BATCH 64

static struct alloc_hooks_counts counts;
/* 1 while installed: hooks sample; 0: they only pass calls through. */
static volatile int active;
/* The sampling of new calls: index << 32 | setting word (memleak.h), read as one value. */
static volatile uint64_t sampling_now = 1;
static volatile uint64_t min_size, max_size = ~0ULL;
static volatile int tracking_enabled = 1;

/*
 * The sampled addresses: buckets of 8 slots (one cache line), 0 = empty. Insert claims an empty slot of the
 * address's bucket, remove clears the slot again: no tombstones, so a lookup reads one line (three where its bucket
 * spilled, below). The primary table is small (its pages are all touched as samples come and go, so it is what the set
 * adds to the RSS); an address whose primary bucket is full goes to the emptier of its two buckets in the overflow
 * table, sized for max-allocs outstanding blocks, and its primary bucket is marked as spilled, so that only lookups in
 * such buckets read the overflow table. Under sampling the overflow table is never touched; with sample-bytes=0 it
 * holds what the primary cannot. Both full: the sample is dropped (counted). In front of both, 64 Ki counters of how
 * many sampled addresses hash to each: a free whose counter is 0 (nearly all under sampling) is decided from 64 KiB
 * that stay in the CPU's cache.
 */
#define SET_WAYS 8
#define FILTER_BITS 16
#define PRIMARY_BUCKETS_MAX (1u << 15) /* 2 MiB */

struct address_set {
	uint64_t *primary;
	uint64_t *overflow;
	uint8_t *spilled;        /* per primary bucket */
	size_t primary_buckets;  /* powers of two */
	size_t overflow_buckets;
	size_t bytes;
};
static struct address_set *volatile current_set;
static uint8_t filter[1 << FILTER_BITS];

static inline uint64_t hash_address(uint64_t address)
{
	return (address >> 4) * 0x9E3779B97F4A7C15ULL;
}

/*
 * The overflow table's two buckets for an address, from two hashes independent of the primary's (a primary bucket's
 * addresses spread over the whole table). An address goes to the emptier of its two and is looked for in both: with
 * two choices the fullest bucket stays near the mean, so the table holds max-allocs in as many slots where one choice
 * needed twice as many and still overflowed buckets (simulated with a million random addresses outstanding: 918
 * inserts dropped with one choice, 1 with two at half the size; docs/benchmarks.md, "The hooks' set at a million
 * blocks").
 */
static inline uint64_t *overflow_bucket(const struct address_set *set, uint64_t address, int second)
{
	uint64_t hash = (address >> 4) * (second ? 0x27D4EB2F165667C5ULL : 0xC2B2AE3D27D4EB4FULL);

	return set->overflow + ((hash >> 20) & (set->overflow_buckets - 1)) * SET_WAYS;
}

static inline void filter_add(uint8_t *counter, int delta)
{
	uint8_t value = __atomic_load_n(counter, __ATOMIC_RELAXED);

	/* A counter that reached 255 stays there: it then only says "maybe", which the set answers. */
	while (value != 255 && !(delta < 0 && value == 0) &&
	       !__atomic_compare_exchange_n(counter, &value, (uint8_t)(value + delta), true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static bool bucket_contains(const uint64_t *bucket, uint64_t address)
{
	for (int i = 0; i < SET_WAYS; i++)
		if (__atomic_load_n(&bucket[i], __ATOMIC_RELAXED) == address)
			return true;
	return false;
}

static bool bucket_insert(uint64_t *bucket, uint64_t address)
{
	for (int i = 0; i < SET_WAYS; i++) {
		uint64_t empty = 0;

		if (__atomic_load_n(&bucket[i], __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&bucket[i], &empty, address, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static bool bucket_remove(uint64_t *bucket, uint64_t address)
{
	for (int i = 0; i < SET_WAYS; i++) {
		uint64_t expected = address;

		if (__atomic_load_n(&bucket[i], __ATOMIC_RELAXED) == address &&
		    __atomic_compare_exchange_n(&bucket[i], &expected, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static int bucket_used(const uint64_t *bucket)
{
	int used = 0;

	for (int i = 0; i < SET_WAYS; i++)
		used += __atomic_load_n(&bucket[i], __ATOMIC_RELAXED) != 0;
	return used;
}

static bool overflow_contains(const struct address_set *set, uint64_t address)
{
	return bucket_contains(overflow_bucket(set, address, 0), address) ||
	       bucket_contains(overflow_bucket(set, address, 1), address);
}

/* Into the emptier of the address's two buckets; the other when a concurrent insert filled it first. */
static bool overflow_insert(const struct address_set *set, uint64_t address)
{
	uint64_t *first = overflow_bucket(set, address, 0), *second = overflow_bucket(set, address, 1);

	if (bucket_used(second) < bucket_used(first)) {
		uint64_t *emptier = second;

		second = first;
		first = emptier;
	}
	return bucket_insert(first, address) || bucket_insert(second, address);
}

static bool overflow_remove(const struct address_set *set, uint64_t address)
{
	return bucket_remove(overflow_bucket(set, address, 0), address) ||
	       bucket_remove(overflow_bucket(set, address, 1), address);
}

static bool set_insert(uint64_t address)
{
	struct address_set *set = current_set;
	uint64_t hash = hash_address(address);
	size_t index = (hash >> 24) & (set->primary_buckets - 1);
	uint64_t *primary = set->primary + index * SET_WAYS;
	uint8_t *counter = &filter[hash >> (64 - FILTER_BITS)];

	/* Present already (its free went by a path without a hook, before the address came back): marked once. */
	if (bucket_contains(primary, address) ||
	    (__atomic_load_n(&set->spilled[index], __ATOMIC_ACQUIRE) && overflow_contains(set, address)))
		return true;
	filter_add(counter, 1);
	if (bucket_insert(primary, address))
		return true;
	__atomic_store_n(&set->spilled[index], 1, __ATOMIC_RELEASE);
	if (overflow_insert(set, address))
		return true;
	filter_add(counter, -1);
	return false;
}

static bool set_remove(uint64_t address)
{
	uint64_t hash = hash_address(address);
	uint8_t *counter = &filter[hash >> (64 - FILTER_BITS)];
	struct address_set *set;
	size_t index;

	if (__atomic_load_n(counter, __ATOMIC_RELAXED) == 0)
		return false;
	set = current_set;
	index = (hash >> 24) & (set->primary_buckets - 1);
	if (bucket_remove(set->primary + index * SET_WAYS, address) ||
	    (__atomic_load_n(&set->spilled[index], __ATOMIC_ACQUIRE) && overflow_remove(set, address))) {
		filter_add(counter, -1);
		return true;
	}
	return false;
}

static inline uint32_t next_random(struct thread_state *t)
{
	uint64_t x = t->random;

	if (x == 0) /* seeded from the clock and the thread's own TLS address: distinct per thread, no system call */
		x = (__builtin_ia32_rdtsc() ^ (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ULL) | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->random = x;
	return (uint32_t)(x >> 32);
}

static inline void count_call(struct thread_state *t)
{
	if (++t->calls >= COUNT_BATCH) {
		__atomic_fetch_add(&counts.calls, t->calls, __ATOMIC_RELAXED);
		t->calls = 0;
	}
}

/* After a real allocating call returned block (NULL: failed): the sampling decision, and the trap if sampled. */
static inline __attribute__((always_inline)) void after_alloc(void *block, uint64_t size, uint32_t func,
							      void *frame)
{
	struct thread_state *t = &state;
	uint64_t sampling;

	count_call(t);
	if (!block) {
		__atomic_fetch_add(&counts.failed, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!tracking_enabled || size < min_size || size > max_size)
		return;
	sampling = sampling_now;
	if (!sampling_chooses(size, (uint32_t)sampling, next_random(t)))
		return;
	if (!set_insert((uint64_t)(uintptr_t)block)) {
		__atomic_fetch_add(&counts.set_full, 1, __ATOMIC_RELAXED);
		return;
	}
	memleak4j_alloc_site(block, size, func | (sampling >> 32) << 8, frame);
}

/* A block is going away: the trap only when it was sampled. Before the real free, so the address is not reused yet. */
static inline __attribute__((always_inline)) void before_free(void *block, void *frame)
{
	if (set_remove((uint64_t)(uintptr_t)block))
		memleak4j_free_site(block, frame);
}

#define HOOK __attribute__((noinline, used))
#define FRAME __builtin_frame_address(0)

/* The hooks. `busy` set: called from inside a real allocator function; `active` clear: uninstalled. */
#define ALLOC_HOOK(call, size_expr, func)                                \
	do {                                                             \
		struct thread_state *t = &state;                         \
		void *block;                                             \
		if (t->busy || !active)                                  \
			return call;                                     \
		t->busy = 1;                                             \
		block = call;                                            \
		t->busy = 0;                                             \
		after_alloc(block, (size_expr), (func), FRAME);          \
		return block;                                            \
	} while (0)

HOOK static void *hook_malloc(size_t size)
{
	ALLOC_HOOK(real_malloc(size), size, FUNC_MALLOC);
}

HOOK static void *hook_calloc(size_t count, size_t size)
{
	ALLOC_HOOK(real_calloc(count, size), count * size, FUNC_CALLOC);
}

HOOK static void *hook_aligned_alloc(size_t alignment, size_t size)
{
	ALLOC_HOOK(real_aligned_alloc(alignment, size), size, FUNC_ALIGNED_ALLOC);
}

HOOK static void *hook_memalign(size_t alignment, size_t size)
{
	ALLOC_HOOK(real_memalign(alignment, size), size, FUNC_MEMALIGN);
}

HOOK static void *hook_valloc(size_t size)
{
	ALLOC_HOOK(real_valloc(size), size, FUNC_VALLOC);
}

HOOK static void *hook_pvalloc(size_t size)
{
	ALLOC_HOOK(real_pvalloc(size), size, FUNC_PVALLOC);
}

HOOK static int hook_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	struct thread_state *t = &state;
	int result;

	if (t->busy || !active)
		return real_posix_memalign(memptr, alignment, size);
	t->busy = 1;
	result = real_posix_memalign(memptr, alignment, size);
	t->busy = 0;
	/* The block comes back through *memptr, and only when the result is 0. */
	after_alloc(result == 0 ? *memptr : NULL, size, FUNC_POSIX_MEMALIGN, FRAME);
	return result;
}

/*
 * realloc and reallocarray: the old block leaves the set before the call (so that no other thread's new block at
 * the same address is taken for it), and goes back if the call failed and left it alone. Freed (moved, resized in
 * place, or size 0) it is reported free; the new block is a new sampling decision.
 */
static inline __attribute__((always_inline)) void *resize(void *old, size_t count, size_t size, bool array,
							  void *frame)
{
	struct thread_state *t = &state;
	size_t bytes = 0;
	bool overflow = array && __builtin_mul_overflow(count, size, &bytes);
	bool sampled;
	void *block;

	if (!array)
		bytes = size;
	sampled = old && set_remove((uint64_t)(uintptr_t)old);
	t->busy = 1;
	block = array ? real_reallocarray(old, count, size) : real_realloc(old, size);
	t->busy = 0;
	if (sampled) {
		if (!block && (bytes != 0 || overflow)) {
			if (!set_insert((uint64_t)(uintptr_t)old)) /* untouched: still the sampled block it was */
				memleak4j_free_site(old, frame); /* cannot keep it: better untracked than never freed */
		} else {
			memleak4j_free_site(old, frame);
		}
	}
	if (!block && bytes == 0 && !overflow && old) {
		count_call(t); /* realloc(p, 0): a free, not a failure */
		return NULL;
	}
	after_alloc(block, bytes, array ? FUNC_REALLOCARRAY : FUNC_REALLOC, frame);
	return block;
}

HOOK static void *hook_realloc(void *old, size_t size)
{
	if (state.busy || !active)
		return real_realloc(old, size);
	return resize(old, 1, size, false, FRAME);
}

HOOK static void *hook_reallocarray(void *old, size_t count, size_t size)
{
	if (state.busy || !active)
		return real_reallocarray(old, count, size);
	return resize(old, count, size, true, FRAME);
}

HOOK static void hook_free(void *block)
{
	/* Not skipped when busy: a block freed from inside the allocator is gone all the same. */
	if (block && active) {
		struct thread_state *t = &state;

		if (++t->frees >= COUNT_BATCH) {
			__atomic_fetch_add(&counts.frees, t->frees, __ATOMIC_RELAXED);
			t->frees = 0;
		}
		before_free(block, FRAME);
	}
	real_free(block);
}

static void patch_loaded_objects(void);
static long page_size(void);
static void *as_hook(void *function);

/* Whether the dl hooks run the real functions as their caller (no shadow stack); set at install. */
static bool call_as_caller;

/*
 * dlopen, dlsym and dlvsym take their caller's object from their return address: dlopen searches a bare name in the
 * caller's RPATH/RUNPATH and expands $ORIGIN to the caller's directory; dlsym searches RTLD_DEFAULT in the caller's
 * scope (an RTLD_LOCAL library's own symbols included) and RTLD_NEXT in the objects after the caller. Called from a
 * hook, all of that would be this library's. So the hooks run the real function with a return address in the
 * caller's own code: a ret instruction byte (0xc3) of the page the caller returns to, which returns to the hook
 * (memleak4j_call_from). The byte decodes as ret wherever it stands, and the page is mapped, readable code: the
 * caller runs there. The nearest before the return address, else after it; NULL when the page has none (rare: the
 * call is then made from here) or when returns are checked against a shadow stack.
 */
static const void *caller_ret_byte(const void *caller)
{
	const uint8_t *at = caller, *page = (const uint8_t *)((uintptr_t)caller & ~(uintptr_t)(page_size() - 1));

	if (!call_as_caller)
		return NULL;
	for (const uint8_t *p = at; p-- > page;)
		if (*p == 0xc3)
			return p;
	for (const uint8_t *p = at; p < page + page_size(); p++)
		if (*p == 0xc3)
			return p;
	return NULL;
}

/* Objects loaded later (System.loadLibrary goes through libjvm's dlopen) get their slots redirected too. */
HOOK static void *hook_dlopen(const char *file, int flags)
{
	const void *ret = caller_ret_byte(__builtin_return_address(0));
	void *handle = ret ? memleak4j_call_from(ret, (void *)real_dlopen, (void *)file, (const void *)(intptr_t)flags,
						 NULL)
			   : real_dlopen(file, flags);

	if (handle && active)
		patch_loaded_objects();
	return handle;
}

/*
 * A function pointer fetched by name (an FFM downcall's SymbolLookup, JNA's Function, C code's dlsym(RTLD_DEFAULT,
 * "malloc")) bypasses the import slots: while the hooks are installed, a result that is a function they call comes
 * back as its hook.
 */
HOOK static void *hook_dlsym(void *handle, const char *name)
{
	const void *ret = caller_ret_byte(__builtin_return_address(0));
	void *found = ret ? memleak4j_call_from(ret, (void *)real_dlsym, handle, name, NULL) : real_dlsym(handle, name);

	return active ? as_hook(found) : found;
}

HOOK static void *hook_dlvsym(void *handle, const char *name, const char *version)
{
	const void *ret = caller_ret_byte(__builtin_return_address(0));
	void *found = ret ? memleak4j_call_from(ret, (void *)real_dlvsym, handle, name, version)
			  : real_dlvsym(handle, name, version);

	return active ? as_hook(found) : found;
}

static void *const hook_addresses[HOOK_COUNT] = {
	[FUNC_MALLOC] = (void *)hook_malloc,
	[FUNC_CALLOC] = (void *)hook_calloc,
	[FUNC_REALLOC] = (void *)hook_realloc,
	[FUNC_REALLOCARRAY] = (void *)hook_reallocarray,
	[FUNC_POSIX_MEMALIGN] = (void *)hook_posix_memalign,
	[FUNC_ALIGNED_ALLOC] = (void *)hook_aligned_alloc,
	[FUNC_MEMALIGN] = (void *)hook_memalign,
	[FUNC_VALLOC] = (void *)hook_valloc,
	[FUNC_PVALLOC] = (void *)hook_pvalloc,
	[FUNC_FREE] = (void *)hook_free,
	[HOOK_DLOPEN] = (void *)hook_dlopen,
	[HOOK_DLSYM] = (void *)hook_dlsym,
	[HOOK_DLVSYM] = (void *)hook_dlvsym,
};

/* The hook of a function the hooks call (what a pointer fetched by name gets); anything else as it is. */
static void *as_hook(void *function)
{
	if (function)
		for (int i = 0; i < HOOK_COUNT; i++)
			if (function == real_functions[i])
				return hook_addresses[i];
	return function;
}

/* ---- import tables ---- */

/* One slot changed: where, what it held, and whether it lies in a RELRO page (read-only outside our writes). */
struct slot_record {
	uint64_t *slot;
	uint64_t original;
	uintptr_t object_base;
	uint32_t hook;
	uint32_t relro;
};
#define MAX_RECORDS 16384
#define MAX_OBJECTS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot_record *records; /* mmap'd, MAX_RECORDS */
static int record_count;
static int records_dropped;
/* Objects scanned since the last unload anywhere (dlpi_subs): a dlopen rescans only the new ones. */
static uintptr_t scanned[MAX_OBJECTS];
static int scanned_count;
static unsigned long long scanned_subs = ~0ULL;
static uintptr_t own_base;

enum scan_mode { SCAN_PATCH, SCAN_COUNT };

struct scan {
	enum scan_mode mode;
	int changed;   /* SCAN_PATCH: slots changed */
	int hooked;    /* SCAN_COUNT: slots holding a hook */
};

static long page_size(void)
{
	static long size;

	if (!size)
		size = sysconf(_SC_PAGESIZE);
	return size;
}

/* The last mapping looked up in /proc/self/maps (under lock; forgotten at each scan, mappings change). */
static uintptr_t mapping_start, mapping_end;
static bool mapping_writable;

/* Whether the page at address is writable now. Unknown: taken as read-only (then made writable and put back). */
static bool writable_now(uintptr_t address)
{
	FILE *maps;
	char line[512];

	if (address >= mapping_start && address < mapping_end)
		return mapping_writable;
	if (!(maps = fopen("/proc/self/maps", "r")))
		return false;
	mapping_start = mapping_end = 0;
	mapping_writable = false;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && address >= start && address < end) {
			mapping_start = start;
			mapping_end = end;
			mapping_writable = perms[1] == 'w';
			break;
		}
		if (!strchr(line, '\n')) /* a long line: skip the rest of it */
			while (fgets(line, sizeof(line), maps) && !strchr(line, '\n'))
				;
	}
	fclose(maps);
	return mapping_writable;
}

/*
 * An aligned 8-byte store. A page the dynamic linker made read-only (RELRO) is made writable around it and read-only
 * again; one that is writable already (another tool made it so, and may write there again) is left as it is.
 */
static bool write_slot(uint64_t *slot, uint64_t value, bool relro)
{
	void *page = (void *)((uintptr_t)slot & ~(uintptr_t)(page_size() - 1));
	bool protect = relro && !writable_now((uintptr_t)slot);

	if (protect && mprotect(page, (size_t)page_size(), PROT_READ | PROT_WRITE))
		return false;
	__atomic_store_n(slot, value, __ATOMIC_RELEASE);
	if (protect)
		mprotect(page, (size_t)page_size(), PROT_READ);
	return true;
}

static int hook_by_name(const char *name)
{
	for (int i = 0; i < HOOK_COUNT; i++)
		if (name[0] == names[i][0] && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static bool is_hook_address(uint64_t value)
{
	for (int i = 0; i < HOOK_COUNT; i++)
		if (value == (uint64_t)(uintptr_t)hook_addresses[i])
			return true;
	return false;
}

static void visit_slot(struct scan *scan, uintptr_t base, uint64_t *slot, int hook, bool relro)
{
	uint64_t value = __atomic_load_n(slot, __ATOMIC_ACQUIRE), wanted = (uint64_t)(uintptr_t)hook_addresses[hook];

	if (scan->mode == SCAN_COUNT) {
		if (is_hook_address(value))
			scan->hooked++;
		return;
	}
	if (value == wanted)
		return;
	if (record_count >= MAX_RECORDS) {
		records_dropped++;
		return;
	}
	if (!write_slot(slot, wanted, relro))
		return;
	records[record_count++] = (struct slot_record){ slot, value, base, (uint32_t)hook, relro };
	scan->changed++;
}

static void scan_relocations(struct scan *scan, uintptr_t base, const ElfW(Rela) *relocs, size_t bytes,
			     const ElfW(Sym) *symbols, const char *strings, uintptr_t relro_start, uintptr_t relro_end)
{
	for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); i++) {
		uint32_t type = ELF64_R_TYPE(relocs[i].r_info), symbol = ELF64_R_SYM(relocs[i].r_info);
		uintptr_t slot;
		int hook;

		if (symbol == 0 ||
		    (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_64))
			continue;
		if (type == R_X86_64_64 && relocs[i].r_addend != 0)
			continue; /* malloc + n is not a pointer to malloc */
		if ((hook = hook_by_name(strings + symbols[symbol].st_name)) < 0)
			continue;
		slot = base + relocs[i].r_offset;
		visit_slot(scan, base, (uint64_t *)slot, hook, slot >= relro_start && slot < relro_end);
	}
}

/* An address from the dynamic section: glibc relocates them in place when loading; the vdso's are not. */
static uintptr_t dynamic_address(uintptr_t base, ElfW(Addr) value)
{
	return value < base ? base + value : value;
}

static bool scanned_already(uintptr_t base)
{
	for (int i = 0; i < scanned_count; i++)
		if (scanned[i] == base)
			return true;
	return false;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct scan *scan = data;
	uintptr_t base = info->dlpi_addr, relro_start = 0, relro_end = 0, page = (uintptr_t)page_size();
	const ElfW(Dyn) *dynamic = NULL;
	const ElfW(Sym) *symbols = NULL;
	const char *strings = NULL;
	const ElfW(Rela) *rela = NULL, *jmprel = NULL;
	size_t rela_size = 0, jmprel_size = 0;
	int64_t pltrel = DT_RELA;

	/* Not ours (our own calls are the agent's), not the vdso, not ld.so (its minimal malloc is its own). */
	if (base == own_base || base == getauxval(AT_SYSINFO_EHDR) || base == getauxval(AT_BASE))
		return 0;
	if (scan->mode == SCAN_PATCH) {
		if (scanned_already(base))
			return 0;
		if (scanned_count < MAX_OBJECTS)
			scanned[scanned_count++] = base;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_DYNAMIC)
			dynamic = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			/* What the dynamic linker protected: whole pages only. */
			relro_start = (base + ph->p_vaddr) & ~(page - 1);
			relro_end = (base + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
		}
	}
	if (!dynamic)
		return 0;
	for (const ElfW(Dyn) *d = dynamic; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symbols = (const ElfW(Sym) *)dynamic_address(base, d->d_un.d_ptr); break;
		case DT_STRTAB: strings = (const char *)dynamic_address(base, d->d_un.d_ptr); break;
		case DT_RELA: rela = (const ElfW(Rela) *)dynamic_address(base, d->d_un.d_ptr); break;
		case DT_RELASZ: rela_size = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = (const ElfW(Rela) *)dynamic_address(base, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: jmprel_size = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (int64_t)d->d_un.d_val; break;
		default: break;
		}
	}
	if (!symbols || !strings)
		return 0;
	if (rela)
		scan_relocations(scan, base, rela, rela_size, symbols, strings, relro_start, relro_end);
	if (jmprel && pltrel == DT_RELA)
		scan_relocations(scan, base, jmprel, jmprel_size, symbols, strings, relro_start, relro_end);
	return 0;
}

/* Collects the bases of the loaded objects, and dlpi_subs (how many were ever unloaded). */
struct loaded {
	uintptr_t bases[MAX_OBJECTS];
	int count;
	unsigned long long subs;
};
static struct loaded loaded_now; /* under lock */

static int collect_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct loaded *loaded = data;

	if (loaded->count < MAX_OBJECTS)
		loaded->bases[loaded->count++] = info->dlpi_addr;
	loaded->subs = info->dlpi_subs;
	return 0;
}

static bool is_loaded(uintptr_t base)
{
	for (int i = 0; i < loaded_now.count; i++)
		if (loaded_now.bases[i] == base)
			return true;
	return false;
}

/* Under lock. Objects unloaded since the last scan: their records go, and every object is scanned again. */
static void forget_unloaded(void)
{
	int kept = 0;

	loaded_now.count = 0;
	dl_iterate_phdr(collect_object, &loaded_now);
	if (loaded_now.subs == scanned_subs)
		return;
	scanned_subs = loaded_now.subs;
	scanned_count = 0;
	for (int i = 0; i < record_count; i++)
		if (is_loaded(records[i].object_base))
			records[kept++] = records[i];
	record_count = kept;
}

static int patch_locked(void)
{
	struct scan scan = { .mode = SCAN_PATCH };

	mapping_start = mapping_end = 0;
	forget_unloaded();
	dl_iterate_phdr(scan_object, &scan);
	return scan.changed;
}

static void patch_loaded_objects(void)
{
	pthread_mutex_lock(&lock);
	if (active)
		patch_locked();
	pthread_mutex_unlock(&lock);
}

int alloc_hooks_count_hooked_slots(void)
{
	struct scan scan = { .mode = SCAN_COUNT };

	pthread_mutex_lock(&lock);
	dl_iterate_phdr(scan_object, &scan);
	pthread_mutex_unlock(&lock);
	return scan.hooked;
}

/* ---- install, uninstall ---- */

static int fail(char *err, size_t err_len, int error, const char *message)
{
	snprintf(err, err_len, "%s", message);
	return -error;
}

/* Whether this thread's returns are checked against a shadow stack (arch_prctl ARCH_SHSTK_STATUS, Linux 6.6+). */
static bool shadow_stack_on(void)
{
	unsigned long long features = 0;

	return syscall(SYS_arch_prctl, 0x5005 /* ARCH_SHSTK_STATUS */, &features) == 0 && (features & 1);
}

/* The functions the hooks call: the allocator's (prefixed) symbols, from `library` or the global scope. */
static int resolve_real(void *library, char *err, size_t err_len)
{
	void *found[HOOK_COUNT];

	for (int i = 0; i < HOOK_COUNT; i++) {
		found[i] = dlsym(i >= HOOK_DLOPEN || !library ? RTLD_DEFAULT : library, names[i]);
		if (!found[i] && (i == FUNC_MALLOC || i == FUNC_FREE || i == HOOK_DLOPEN || i == HOOK_DLSYM)) {
			char message[256];

			snprintf(message, sizeof(message), "no function '%s' to hook: is the allocator loaded? (see obj and "
				 "symbols-prefix, or probe-mode=uprobes)", names[i]);
			return fail(err, err_len, ENOENT, message);
		}
	}
	/* A function the allocator lacks keeps its slots as they are (none is redirected to a missing target). */
	real_malloc = found[FUNC_MALLOC];
	real_calloc = found[FUNC_CALLOC];
	real_realloc = found[FUNC_REALLOC];
	real_reallocarray = found[FUNC_REALLOCARRAY];
	real_posix_memalign = found[FUNC_POSIX_MEMALIGN];
	real_aligned_alloc = found[FUNC_ALIGNED_ALLOC];
	real_memalign = found[FUNC_MEMALIGN];
	real_valloc = found[FUNC_VALLOC];
	real_pvalloc = found[FUNC_PVALLOC];
	real_free = found[FUNC_FREE];
	real_dlopen = found[HOOK_DLOPEN];
	real_dlsym = found[HOOK_DLSYM];
	real_dlvsym = found[HOOK_DLVSYM];
	/*
	 * With a shadow stack (CET) a return through another object's ret byte would fault: dlopen is then called from
	 * here, and dlsym and dlvsym are left alone (pointers fetched by name stay the allocator's own).
	 */
	call_as_caller = !shadow_stack_on();
	if (!call_as_caller)
		found[HOOK_DLSYM] = found[HOOK_DLVSYM] = NULL;
	for (int i = 0; i < HOOK_COUNT; i++) {
		real_functions[i] = found[i];
		if (!found[i])
			names[i][0] = '\0'; /* matches no symbol: never redirected */
	}
	return 0;
}

static size_t power_of_two_at_least(size_t value, size_t low, size_t high)
{
	size_t result = low;

	while (result < value && result < high)
		result <<= 1;
	return result;
}

static int make_set(uint64_t max_tracked, char *err, size_t err_len)
{
	/*
	 * The primary table holds max_tracked at most, in 2 MiB at most: with 50,000 sampled blocks outstanding about 1
	 * insert in 5,000 finds its bucket full and goes on to the overflow table, which has a slot for each of
	 * max_tracked (max-allocs, what the BPF side can track; two choices per address fill it evenly) and is mapped but
	 * untouched until then.
	 */
	size_t primary = power_of_two_at_least(max_tracked / SET_WAYS, 1024, PRIMARY_BUCKETS_MAX);
	size_t overflow = power_of_two_at_least(max_tracked / SET_WAYS, 1024, (size_t)1 << 28);
	size_t line = SET_WAYS * sizeof(uint64_t);
	size_t bytes = (primary + overflow) * line + primary;
	struct address_set *set = current_set;
	uint8_t *memory;

	if (set && set->primary_buckets == primary && set->overflow_buckets == overflow) {
		memset(set->primary, 0, primary * line);
		memset(set->spilled, 0, primary);
		/* the overflow table's pages: given back rather than written (most were never touched) */
		madvise(set->overflow, overflow * line, MADV_DONTNEED);
	} else {
		/* The old set (if any) stays mapped: a thread still inside a hook may be reading it. */
		memory = mmap(NULL, bytes + sizeof(*set), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (memory == MAP_FAILED)
			return fail(err, err_len, errno, "mapping the set of sampled addresses failed");
		set = (struct address_set *)(memory + bytes);
		set->primary = (uint64_t *)memory;
		set->overflow = (uint64_t *)(memory + primary * line);
		set->spilled = memory + (primary + overflow) * line;
		set->primary_buckets = primary;
		set->overflow_buckets = overflow;
		set->bytes = bytes;
		__atomic_store_n(&current_set, set, __ATOMIC_RELEASE);
	}
	memset(filter, 0, sizeof(filter));
	return 0;
}

/* In a child of fork(): the hooks only pass calls through (the slots stay redirected; the child runs on). */
static void after_fork_in_child(void)
{
	active = 0;
}

int alloc_hooks_install(uint64_t max_tracked, const char *library_path, const char *prefix, char *err,
			size_t err_len)
{
	static bool fork_handler;

	void *library = NULL;
	Dl_info self;
	int error, changed;

	pthread_mutex_lock(&lock);
	if (active) {
		pthread_mutex_unlock(&lock);
		return fail(err, err_len, EALREADY, "the allocator hooks are installed already");
	}
	if (!dladdr((void *)hook_malloc, &self)) {
		pthread_mutex_unlock(&lock);
		return fail(err, err_len, ENOENT, "cannot tell which library the hooks are in");
	}
	own_base = (uintptr_t)self.dli_fbase;
	for (int i = 0; i < HOOK_COUNT; i++)
		snprintf(names[i], SYMBOL_MAX, "%s%s", i >= HOOK_DLOPEN || !prefix ? "" : prefix, base_names[i]);
	if (library_path) {
		library = dlopen(library_path, RTLD_LAZY | RTLD_NOLOAD);
		if (!library) {
			char message[512];

			snprintf(message, sizeof(message), "obj=%s is not loaded in this process: the hooks wrap an allocator "
				 "the process uses (probe-mode=uprobes probes a library file)", library_path);
			pthread_mutex_unlock(&lock);
			return fail(err, err_len, ENOENT, message);
		}
	}
	if (!records) {
		void *memory = mmap(NULL, MAX_RECORDS * sizeof(struct slot_record), PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (memory == MAP_FAILED) {
			pthread_mutex_unlock(&lock);
			return fail(err, err_len, errno, "mapping the slot records failed");
		}
		records = memory;
	}
	if ((error = resolve_real(library, err, err_len)) || (error = make_set(max_tracked, err, err_len))) {
		pthread_mutex_unlock(&lock);
		return error;
	}
	if (!fork_handler) {
		if ((error = pthread_atfork(NULL, NULL, after_fork_in_child))) {
			pthread_mutex_unlock(&lock);
			return fail(err, err_len, error, "registering the hooks' fork handler failed");
		}
		fork_handler = true;
	}
	memset(&counts, 0, sizeof(counts));
	record_count = 0;
	records_dropped = 0;
	scanned_count = 0;
	scanned_subs = ~0ULL;
	__atomic_store_n(&active, 1, __ATOMIC_SEQ_CST);
	changed = patch_locked();
	pthread_mutex_unlock(&lock);
	return changed;
}

int alloc_hooks_uninstall(int *left)
{
	int restored = 0;

	pthread_mutex_lock(&lock);
	if (active) {
		mapping_start = mapping_end = 0;
		loaded_now.count = 0;
		dl_iterate_phdr(collect_object, &loaded_now);
		/* Backwards: a slot changed twice (never, but cheap to get right) ends with its first value. */
		for (int i = record_count - 1; i >= 0; i--) {
			struct slot_record *r = &records[i];

			if (!is_loaded(r->object_base) ||
			    __atomic_load_n(r->slot, __ATOMIC_ACQUIRE) != (uint64_t)(uintptr_t)hook_addresses[r->hook])
				continue;
			if (write_slot(r->slot, r->original, r->relro))
				restored++;
		}
		record_count = 0;
		/* From here hooks still reached (a thread inside one, a copied pointer) only pass calls through. */
		__atomic_store_n(&active, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&lock);
	if (left)
		*left = alloc_hooks_count_hooked_slots();
	return restored;
}

void *alloc_hooks_filter(size_t *size)
{
	*size = sizeof(filter);
	return filter;
}

bool alloc_hooks_is_sampled(uint64_t address)
{
	uint64_t hash = hash_address(address);
	struct address_set *set;
	size_t index;

	/* The filter first: an address the hooks never sampled is answered from its counter, without the set. */
	if (!active || address == 0 || __atomic_load_n(&filter[hash >> (64 - FILTER_BITS)], __ATOMIC_RELAXED) == 0)
		return false;
	set = current_set;
	if (!set)
		return false;
	index = (hash >> 24) & (set->primary_buckets - 1);
	return bucket_contains(set->primary + index * SET_WAYS, address) ||
	       (__atomic_load_n(&set->spilled[index], __ATOMIC_ACQUIRE) && overflow_contains(set, address));
}

bool alloc_hooks_installed(void)
{
	return active;
}

void alloc_hooks_set_sampling(uint32_t index, uint32_t word, uint64_t min, uint64_t max, bool enabled)
{
	min_size = min;
	max_size = max;
	tracking_enabled = enabled;
	sampling_now = (uint64_t)index << 32 | word;
}

void alloc_hooks_read_counts(struct alloc_hooks_counts *out)
{
	out->calls = __atomic_load_n(&counts.calls, __ATOMIC_RELAXED);
	out->frees = __atomic_load_n(&counts.frees, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&counts.failed, __ATOMIC_RELAXED);
	out->set_full = __atomic_load_n(&counts.set_full, __ATOMIC_RELAXED) + (uint64_t)records_dropped;
}

/* The file and file offset that hold address, from /proc/self/maps. */
static int file_offset_of(const void *address, char *path, size_t path_len, uint64_t *offset)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = -ENOENT;

	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, file_offset;
		int name_at = 0;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &file_offset, &name_at) < 3 || !name_at)
			continue;
		if ((uintptr_t)address < start || (uintptr_t)address >= end)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, path_len, "%s", line + name_at);
		*offset = (uintptr_t)address - start + file_offset;
		found = 0;
		break;
	}
	fclose(maps);
	return found;
}

int alloc_hooks_sites(char *path, size_t path_len, uint64_t *alloc_offset, uint64_t *free_offset, char *err,
		      size_t err_len)
{
	char free_path[4096];
	Dl_info self;

	if (file_offset_of((void *)memleak4j_alloc_site, path, path_len, alloc_offset) ||
	    file_offset_of((void *)memleak4j_free_site, free_path, sizeof(free_path), free_offset))
		return fail(err, err_len, ENOENT, "cannot find memleak4j's library in /proc/self/maps: the probe sites "
			    "cannot be attached");
	if (path[0] == '/' && !strstr(path, " (deleted)"))
		return 0;
	/*
	 * No file by that name (a library loaded from an anonymous file, "/memfd:... (deleted)"): the name it was loaded
	 * by, such as /proc/self/fd/N, still opens it for the uprobe.
	 */
	if (dladdr((void *)memleak4j_alloc_site, &self) && self.dli_fname && self.dli_fname[0] == '/' &&
	    access(self.dli_fname, R_OK) == 0 && strlen(self.dli_fname) < path_len) {
		strcpy(path, self.dli_fname);
		return 0;
	}
	return fail(err, err_len, ENOENT, "memleak4j's library has no file to attach the probe sites to (deleted after "
		    "loading?): use probe-mode=uprobes");
}

bool alloc_hooks_site_optimized(void)
{
	/* A hit or two first: the kernel rewrites the nop after the probe was hit (NULL: the program returns at once). */
	for (int i = 0; i < 3; i++)
		memleak4j_alloc_site(NULL, 0, 0, NULL);
	/* 0xe8: the nop5 became a call into the kernel's uprobe trampoline; 0xcc: an int3 trap. */
	return *(volatile const uint8_t *)(void *)memleak4j_alloc_site == 0xe8;
}

static void *volatile pair_sink;

double alloc_hooks_pair_nanos(int pairs)
{
	void *(*allocate)(size_t) = active ? hook_malloc : malloc;
	void (*release)(void *) = active ? hook_free : free;
	double best = -1;

	for (int run = 0; run < 3 && pairs > 0; run++) {
		struct timespec start, end;

		clock_gettime(CLOCK_MONOTONIC, &start);
		for (int i = 0; i < pairs; i++) {
			void *block = allocate(64);

			pair_sink = block;
			release(block);
		}
		clock_gettime(CLOCK_MONOTONIC, &end);
		double ns = ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / pairs;
		if (best < 0 || ns < best)
			best = ns;
	}
	return best;
}
