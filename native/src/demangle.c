// SPDX-License-Identifier: Apache-2.0
/*
 * C++ symbol demangling through the C++ runtime's own __cxa_demangle, looked up at run time so
 * that our library does not link libstdc++ (the host JVM may or may not have it loaded).
 */
#include "demangle.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buffer, size_t *length, int *status);

static cxa_demangle_fn cxa_demangle;
static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;

static void look_up_demangler(void)
{
	void *runtime;

	cxa_demangle = (cxa_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	if (cxa_demangle)
		return;
	runtime = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (runtime)
		cxa_demangle = (cxa_demangle_fn)dlsym(runtime, "__cxa_demangle");
}

char *demangle(const char *mangled)
{
	int status = -1;
	char *result;

	pthread_once(&lookup_once, look_up_demangler);
	if (!cxa_demangle || !mangled)
		return NULL;
	result = cxa_demangle(mangled, NULL, NULL, &status);
	return status == 0 ? result : NULL;
}
