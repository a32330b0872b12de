// SPDX-License-Identifier: Apache-2.0
/*
 * LD_PRELOAD allocator-call counter, for the benchmark's calls-per-operation runs only (never together with a
 * tool under test). Each of the allocator functions memleak4j probes is interposed, counted and passed on to
 * glibc's own implementation through its exported __libc_* entry points (no dlsym: dlsym itself allocates).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static uint64_t allocator_calls;

#define COUNT() __atomic_fetch_add(&allocator_calls, 1, __ATOMIC_RELAXED)

uint64_t memleak4j_bench_allocator_calls(void)
{
	return __atomic_load_n(&allocator_calls, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
	COUNT();
	return __libc_malloc(size);
}

void free(void *ptr)
{
	COUNT();
	__libc_free(ptr);
}

void *calloc(size_t nmemb, size_t size)
{
	COUNT();
	return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
	COUNT();
	return __libc_realloc(ptr, size);
}

void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;

	COUNT();
	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(ptr, total);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	void *block;

	COUNT();
	if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
		return EINVAL;
	block = __libc_memalign(alignment, size);
	if (!block)
		return ENOMEM;
	*out = block;
	return 0;
}

void *aligned_alloc(size_t alignment, size_t size)
{
	COUNT();
	return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
	COUNT();
	return __libc_memalign(alignment, size);
}

void *valloc(size_t size)
{
	COUNT();
	return __libc_valloc(size);
}

void *pvalloc(size_t size)
{
	COUNT();
	return __libc_pvalloc(size);
}
