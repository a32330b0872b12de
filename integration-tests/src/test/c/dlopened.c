// SPDX-License-Identifier: Apache-2.0
/* A plain C library (no JNI) that hookstest.c dlopen()s: its allocations must be seen too. Frame pointers. */
#include <stdlib.h>

void *dlopened_alloc(size_t size)
{
	return malloc(size);
}
