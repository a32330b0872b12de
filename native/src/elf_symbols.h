/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address-to-function index over one ELF file's function symbols (.dynsym and .symtab), built in C so that the
 * first report, which names libjvm.so's frames (~57k functions), costs milliseconds instead of a few hundred of
 * them in cold Java code beside the application (interpreted loops, class loading, JIT compiles).
 *
 * Which of several names for one address is kept: exported before local names; default symbol versions before
 * compat ones; fewer leading underscores (glibc exports __libc_malloc next to malloc); then byte order. A name that
 * an earlier symbol at the same address already has is skipped, .dynsym first, so its version information wins.
 * A symbol without a size reaches to the end of its section (and, by lookup, to the next symbol).
 *
 * An index is immutable once built (lookups may run on several threads at once) and never freed: the agent keeps
 * one per file for the life of the process.
 */
#ifndef MEMLEAK4J_ELF_SYMBOLS_H
#define MEMLEAK4J_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct elf_symbols;

/* Reads the file at path; NULL with a message in err when it is unreadable or not a 64-bit ELF file. */
struct elf_symbols *elf_symbols_load(const char *path, char *err, size_t err_len);

/* The function containing link-time address vaddr: its NUL-terminated name (owned by the index), else NULL. */
const char *elf_symbols_lookup(const struct elf_symbols *index, uint64_t vaddr, uint64_t *start);

/* Number of distinct symbol addresses. */
size_t elf_symbols_size(const struct elf_symbols *index);

#endif
