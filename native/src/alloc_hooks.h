/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process allocator hooks (probe-mode=hooks): the allocator slots of every loaded object's import table point
 * at this library's hooks, which call the real function, decide in-process whether the call is sampled, and only
 * then call a probe site (a function starting with a 5-byte nop) where the BPF side's uprobe records it. No JNI
 * here (alloc_hooks_jni.c wraps it). Install and uninstall are serialized by the caller and by a lock inside.
 */
#ifndef MEMLEAK4J_ALLOC_HOOKS_H
#define MEMLEAK4J_ALLOC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hooks' own counters, added to the BPF side's (struct stat indexes) by the reader. */
struct alloc_hooks_counts {
	uint64_t calls;          /* allocator calls through the hooks, sampled or not */
	uint64_t frees;          /* free() calls through the hooks with a non-NULL pointer */
	uint64_t failed;         /* allocating calls that returned NULL or an error */
	uint64_t set_full;       /* sampled calls not tracked: the sampled-address set had no room */
};

/*
 * Redirects the allocator slots of every loaded object (and, through the dlopen hook, of objects loaded later) to
 * the hooks. max_tracked sizes the set of sampled addresses. The hooks call the functions named prefix + name
 * (prefix may be NULL) in library_path (an object already loaded) or, when NULL, the first definition in the global
 * scope (an LD_PRELOADed allocator before libc). Returns the number of slots changed, or a negative errno with a
 * message in err.
 */
int alloc_hooks_install(uint64_t max_tracked, const char *library_path, const char *prefix, char *err,
			size_t err_len);
/*
 * Puts back the original value of every slot that still holds a hook; the hooks stay mapped and pass calls through.
 * Returns the number of slots restored; *left gets the number of slots that still point at a hook afterwards
 * (re-read from every loaded object: 0 unless something else wrote them).
 */
int alloc_hooks_uninstall(int *left);
bool alloc_hooks_installed(void);
/* Whether address is a sampled block the hooks track now (outstanding): a few loads, no lock. */
bool alloc_hooks_is_sampled(uint64_t address);
/*
 * The counters in front of the set (1 << 16 bytes, index hash_address(address) >> 48): 0 means no sampled address
 * hashes there. Read-only for callers.
 */
void *alloc_hooks_filter(size_t *size);
/* The sampling setting of new calls, as the BPF side's tracker_set_tuning made it (index and word, memleak.h). */
void alloc_hooks_set_sampling(uint32_t index, uint32_t word, uint64_t min_size, uint64_t max_size, bool enabled);
void alloc_hooks_read_counts(struct alloc_hooks_counts *out);
/*
 * Where the probe sites are: the file the library was loaded from and each site's offset in it, for the uprobes.
 * 0 or a negative errno with a message in err.
 */
int alloc_hooks_sites(char *path, size_t path_len, uint64_t *alloc_offset, uint64_t *free_offset, char *err,
		      size_t err_len);
/* Whether the kernel turned the alloc probe site's nop5 into a call (an optimized uprobe) after it was hit. */
bool alloc_hooks_site_optimized(void);
/* ns per malloc(64)/free pair through the hooks when installed (else the real functions), best of three runs. */
double alloc_hooks_pair_nanos(int pairs);
/* Counts the slots in every loaded object that point at a hook now (read back from memory). */
int alloc_hooks_count_hooked_slots(void);

#endif
