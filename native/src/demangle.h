/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MEMLEAK4J_DEMANGLE_H
#define MEMLEAK4J_DEMANGLE_H

/* Returns a malloc-ed demangled name, or NULL when the name is not a C++ name or no C++ runtime exists. */
char *demangle(const char *mangled);

#endif
