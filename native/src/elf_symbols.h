/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One ELF file's function symbols: the one place where memleak4j decides what a function symbol is and what its
 * version says, for symbolization (an address-to-function index) and for probe placement (the listing that the Java
 * ElfFile reads through elf_symbols_jni.c).
 *
 * Which symbols count: defined (a real section, not ABS/COMMON) FUNC and IFUNC symbols with a non-zero address and a
 * name, from .dynsym and then .symtab. A name ends at its NUL or at the "@VER"/"@@VER" that .symtab names may carry.
 * A .dynsym symbol whose .gnu.version entry has the hidden bit is a compat version (name@VER, not the default
 * name@@VER): new links never bind to it. A (name, address) pair is kept once, from the table read first, so the
 * .dynsym twin keeps its version information. A symbol without a size reaches to the end of its section.
 *
 * Which of several names for one address the index shows: exported before local names; default symbol versions
 * before compat ones; fewer leading underscores (glibc exports __libc_malloc next to malloc); then byte order.
 *
 * The index is built in C so that the first report, which names libjvm.so's frames (tens of thousands of
 * functions), does not run cold Java code beside the application (interpreted loops, class loading, JIT compiles).
 * An index is immutable once built (lookups may run on several threads at once) and never freed: the agent keeps
 * one per file for the life of the process, with the file open (names are read from it at lookup).
 */
#ifndef MEMLEAK4J_ELF_SYMBOLS_H
#define MEMLEAK4J_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct elf_symbols;

/* Reads the file at path; NULL with a message in err when it is unreadable or not a 64-bit ELF file. */
struct elf_symbols *elf_symbols_load(const char *path, char *err, size_t err_len);

/*
 * The function containing link-time address vaddr: the length of its name, with the name (not NUL-terminated) in
 * name when it fits in size bytes, and its start in start; -1 when no function contains it or its name cannot be
 * read (the name is read from the file: see elf_symbols.c).
 */
long elf_symbols_lookup(const struct elf_symbols *index, uint64_t vaddr, uint64_t *start, char *name, size_t size);

/* Number of distinct symbol addresses. */
size_t elf_symbols_size(const struct elf_symbols *index);

#define ELF_FUNCTION_LOCAL 1          /* STB_LOCAL: visible only inside the file (a C static function) */
#define ELF_FUNCTION_HIDDEN_VERSION 2 /* a .dynsym compat version */
#define ELF_FUNCTION_DYNAMIC 4        /* read from .dynsym rather than .symtab */
#define ELF_FUNCTION_IFUNC 8          /* STT_GNU_IFUNC: the address is the resolver that picks the implementation */

/* A function symbol as the file has it. */
struct elf_function {
	uint64_t value;       /* link-time address */
	uint64_t size;        /* 0 when the producer recorded none (hand-written assembly) */
	uint64_t section_end; /* end address of its section, which bounds a size-0 symbol */
	const char *name;     /* name_length bytes, not NUL-terminated; valid during the visit only */
	uint32_t name_length;
	uint32_t flags;       /* ELF_FUNCTION_* */
};

/* Called once per function; non-zero when it could not take it (out of memory), which ends the listing. */
typedef int (*elf_function_visitor)(void *context, const struct elf_function *function);

/*
 * Visits every function symbol of the file at path in reading order (.dynsym first), each (name, address) once.
 * 0, or -1 with a message in err when the file is unreadable or not 64-bit ELF, or the visitor failed.
 */
int elf_symbols_functions(const char *path, elf_function_visitor visit, void *context, char *err, size_t err_len);

/*
 * The link-time addresses of the named data objects (defined STT_OBJECT symbols, .dynsym and .symtab) of the file at
 * path: values[i] for names[i], 0 where the file has none. For the few HotSpot statics that VMStructs does not list.
 * 0, or -1 with a message in err when the file is unreadable or not 64-bit ELF.
 */
int elf_symbols_objects(const char *path, const char *const *names, uint64_t *values, size_t count, char *err,
			size_t err_len);

#endif
