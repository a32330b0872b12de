// SPDX-License-Identifier: Apache-2.0
/*
 * See elf_symbols.h. The file is read with pread into anonymous mappings of the reader's own, unmapped as soon as the
 * index is built: not mapped (a lingering mapping of a library would show up in the /proc/self/maps that the
 * symbolizer reads, and a mapped file truncated on disk would fault), and not malloc'd (the symbol and string tables
 * of libjvm.so are megabytes, which glibc would keep in the reporter thread's arena once freed).
 *
 * The index keeps the file open and no copy of the names: a lookup reads its name from the string table with pread,
 * once per address and report (the Java side caches). libjvm.so's function names are megabytes that every JVM would
 * keep resident; the index holds 24 bytes per function instead.
 */
#define _GNU_SOURCE
#include "elf_symbols.h"
#include "mmap_arena.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Only while an enumeration skips the (name, address) twins of earlier symbols. */
#define FLAG_TWIN 0x80
/* Set in a .gnu.version entry when the symbol is a non-default version (name@VER, not name@@VER). */
#define VERSYM_HIDDEN 0x8000
/* No table of a real library comes near this; a corrupt header asking for more is refused. */
#define MAX_TABLE_BYTES (256UL << 20)

struct elf_symbols {
	size_t count;
	int fd; /* the file, read at each lookup for the name */
	uint64_t *starts;
	/* Exclusive end of each symbol: start + size, or the section end for a symbol without a size. */
	uint64_t *ends;
	/* Where each kept name is in the file, and its length (without the NUL or "@VER"). */
	uint32_t *name_offsets;
	uint32_t *name_lengths;
};

/* One defined function symbol as the file has it, while the index is built. */
struct raw_symbol {
	uint64_t value;
	uint64_t size;
	uint64_t section_end;
	const char *name; /* inside the reader's copy of the string table */
	uint32_t name_offset; /* in the file */
	uint32_t name_length;
	uint32_t sequence; /* order of reading: .dynsym first */
	uint8_t flags;
};

struct raw_symbols {
	struct raw_symbol *items;
	size_t count;
	size_t capacity;
};

static void fail(char *err, size_t err_len, const char *path, const char *what)
{
	snprintf(err, err_len, "%s: %s", path, what);
}

/* The reader's temporaries: mappings of their own (mmap_arena.h), unmapped by end_reading, never in an allocator's
 * arena. size > 0. */
static void *scratch_alloc(struct mmap_arena *scratch, size_t size)
{
	return mmap_arena_map(scratch, mmap_arena_page_round(size));
}

static void scratch_free(struct mmap_arena *scratch, void *p, size_t size)
{
	mmap_arena_unmap(scratch, p, mmap_arena_page_round(size));
}

/* Exactly size bytes at offset; false on a short read or an error. */
static bool read_at(int fd, void *buffer, size_t size, uint64_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, (char *)buffer + done, size - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* Length of a symbol name: up to its NUL, or to the "@VER"/"@@VER" that .symtab names may carry. */
static uint32_t name_length(const char *name)
{
	size_t length = strcspn(name, "@");

	return length > UINT32_MAX ? UINT32_MAX : (uint32_t)length;
}

static int by_address(const void *a, const void *b);

/* An open file's section headers, and the tables read from it. */
struct reading {
	int fd;
	struct mmap_arena scratch; /* where the temporaries below are mapped */
	uint64_t file_size;
	Elf64_Shdr *sections;
	size_t section_count;
	struct raw_symbols symbols; /* names point into the string tables below */
	/* Each symbol table's copies: symbols, strings, versions (.dynsym only); unmapped by end_reading. */
	struct {
		void *data;
		size_t size;
	} copies[6];
	int copy_count;
};

static void end_reading(struct reading *r)
{
	/* mmap_arena_unmap takes NULL: what was never mapped is skipped there. */
	scratch_free(&r->scratch, r->symbols.items, r->symbols.capacity * sizeof(*r->symbols.items));
	for (int i = 0; i < r->copy_count; i++)
		scratch_free(&r->scratch, r->copies[i].data, r->copies[i].size);
	scratch_free(&r->scratch, r->sections, r->section_count * sizeof(*r->sections));
	if (r->fd >= 0)
		close(r->fd);
}

/* A section's contents, copied; NULL when it lies outside the file or is too large (a corrupt header). */
static void *copy_section(struct reading *r, const Elf64_Shdr *section)
{
	void *data;

	if (section->sh_type == SHT_NOBITS || section->sh_size == 0 || section->sh_size > MAX_TABLE_BYTES ||
	    section->sh_offset > r->file_size || section->sh_size > r->file_size - section->sh_offset ||
	    r->copy_count == (int)(sizeof(r->copies) / sizeof(r->copies[0])))
		return NULL;
	data = scratch_alloc(&r->scratch, section->sh_size);
	if (!data)
		return NULL;
	r->copies[r->copy_count].data = data;
	r->copies[r->copy_count].size = section->sh_size;
	r->copy_count++;
	if (!read_at(r->fd, data, section->sh_size, section->sh_offset))
		return NULL; /* unmapped with the other copies */
	return data;
}

/* The .gnu.version section that belongs to the symbol table at section index symtab_index, or NULL. */
static const Elf64_Shdr *versions_of(const struct reading *r, size_t symtab_index)
{
	for (size_t i = 0; i < r->section_count; i++) {
		if (r->sections[i].sh_type == SHT_GNU_versym && r->sections[i].sh_link == symtab_index)
			return &r->sections[i];
	}
	return NULL;
}

/* One symbol table of the file, copied: its entries (entry 0 is the reserved null symbol) and its string table. */
struct symbol_table {
	const Elf64_Sym *syms;
	size_t count;
	const char *strings;
	const Elf64_Shdr *strings_header;
};

/* Copies the symbol table at section index table_index; false when it cannot be read (no symbols from it). */
static bool copy_table(struct reading *r, size_t table_index, struct symbol_table *out)
{
	const Elf64_Shdr *table = &r->sections[table_index];

	if (table->sh_entsize != sizeof(Elf64_Sym) || table->sh_link == 0 || table->sh_link >= r->section_count)
		return false;
	out->strings_header = &r->sections[table->sh_link];
	if (out->strings_header->sh_type != SHT_STRTAB)
		return false;
	out->syms = copy_section(r, table);
	out->strings = out->syms ? copy_section(r, out->strings_header) : NULL;
	out->count = table->sh_size / sizeof(Elf64_Sym);
	return out->syms && out->strings;
}

/*
 * The name of a symbol defined in the file (an address, a real section), ending at its NUL inside the string table,
 * and its length in *length (see name_length); NULL for any other symbol, or a name that is empty or runs off the
 * table.
 */
static const char *defined_name(const struct reading *r, const struct symbol_table *t, const Elf64_Sym *sym,
				uint32_t *length)
{
	const char *name;

	if (sym->st_value == 0 || sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE ||
	    sym->st_shndx >= r->section_count || sym->st_name >= t->strings_header->sh_size)
		return NULL;
	name = t->strings + sym->st_name;
	if (!memchr(name, '\0', t->strings_header->sh_size - sym->st_name) || (*length = name_length(name)) == 0)
		return NULL;
	return name;
}

/*
 * Adds the defined FUNC and IFUNC symbols of the symbol table at section index table_index; false only when memory
 * ran out. A table that cannot be read adds nothing.
 */
static bool read_table(struct reading *r, size_t table_index, bool dynamic)
{
	const Elf64_Shdr *versions_header;
	const uint16_t *versions = NULL;
	struct symbol_table t;
	size_t versions_count = 0;

	if (!copy_table(r, table_index, &t))
		return true;
	versions_header = dynamic ? versions_of(r, table_index) : NULL;
	if (versions_header && (versions = copy_section(r, versions_header)))
		versions_count = versions_header->sh_size / sizeof(uint16_t);
	for (size_t i = 1; i < t.count; i++) {
		const Elf64_Sym *sym = &t.syms[i];
		int type = ELF64_ST_TYPE(sym->st_info);
		struct raw_symbol *symbol;
		const char *name;
		uint32_t length;

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !(name = defined_name(r, &t, sym, &length)))
			continue;
		if (r->symbols.count == r->symbols.capacity)
			return false; /* sized for every entry of both tables: cannot happen */
		symbol = &r->symbols.items[r->symbols.count];
		*symbol = (struct raw_symbol){
			.value = sym->st_value,
			.size = sym->st_size,
			.section_end = r->sections[sym->st_shndx].sh_addr + r->sections[sym->st_shndx].sh_size,
			.name = name,
			.name_offset = (uint32_t)(t.strings_header->sh_offset + sym->st_name),
			.name_length = length,
			.sequence = (uint32_t)r->symbols.count,
			.flags = (ELF64_ST_BIND(sym->st_info) == STB_LOCAL ? ELF_FUNCTION_LOCAL : 0) |
				 (dynamic ? ELF_FUNCTION_DYNAMIC : 0) | (type == STT_GNU_IFUNC ? ELF_FUNCTION_IFUNC : 0),
		};
		if (versions && i < versions_count && (versions[i] & VERSYM_HIDDEN))
			symbol->flags |= ELF_FUNCTION_HIDDEN_VERSION;
		r->symbols.count++;
	}
	return true;
}

/* Opens the file at path and reads its section headers; 0, or -1 with a message in err. end_reading releases r. */
static int open_sections(const char *path, struct reading *r, char *err, size_t err_len)
{
	Elf64_Ehdr header;
	Elf64_Shdr first;
	struct stat st;

	*r = (struct reading){.fd = -1};
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (r->fd < 0) {
		fail(err, err_len, path, strerror(errno));
		return -1;
	}
	/* Only regular files: reading a mapped device node could have side effects. */
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		fail(err, err_len, path, "not a regular file");
		return -1;
	}
	r->file_size = (uint64_t)st.st_size;
	if (!read_at(r->fd, &header, sizeof(header), 0) || memcmp(header.e_ident, ELFMAG, SELFMAG) ||
	    header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
		fail(err, err_len, path, "not a 64-bit ELF file");
		return -1;
	}
	/* Names are found again by their offset in the file, kept in 32 bits. */
	if (r->file_size > UINT32_MAX) {
		fail(err, err_len, path, "larger than 4 GiB");
		return -1;
	}
	if (header.e_shoff == 0) {
		r->section_count = 0; /* no section headers: no symbols */
	} else {
		if (header.e_shentsize != sizeof(Elf64_Shdr) ||
		    !read_at(r->fd, &first, sizeof(first), header.e_shoff)) {
			fail(err, err_len, path, "unreadable section headers");
			return -1;
		}
		/* More sections than e_shnum holds: the count is in the first header's sh_size. */
		r->section_count = header.e_shnum ? header.e_shnum : first.sh_size;
		if (header.e_shoff > r->file_size ||
		    r->section_count > (r->file_size - header.e_shoff) / sizeof(Elf64_Shdr) ||
		    (r->section_count &&
		     (!(r->sections = scratch_alloc(&r->scratch, r->section_count * sizeof(*r->sections))) ||
		      !read_at(r->fd, r->sections, r->section_count * sizeof(*r->sections), header.e_shoff)))) {
			fail(err, err_len, path, "unreadable section headers");
			return -1;
		}
	}
	return 0;
}

/*
 * Opens the file at path and reads every defined function symbol of .dynsym, then of .symtab, sorted by address
 * (ties in reading order); 0, or -1 with a message in err. end_reading releases r either way.
 */
static int start_reading(const char *path, struct reading *r, char *err, size_t err_len)
{
	size_t entries = 0;

	if (open_sections(path, r, err, err_len))
		return -1;
	for (size_t i = 0; i < r->section_count; i++) {
		if ((r->sections[i].sh_type == SHT_DYNSYM || r->sections[i].sh_type == SHT_SYMTAB) &&
		    r->sections[i].sh_size <= MAX_TABLE_BYTES)
			entries += r->sections[i].sh_size / sizeof(Elf64_Sym);
	}
	r->symbols.capacity = entries;
	if (entries && !(r->symbols.items = scratch_alloc(&r->scratch, entries * sizeof(*r->symbols.items)))) {
		r->symbols.capacity = 0;
		fail(err, err_len, path, "out of memory reading its symbols");
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->section_count; i++) {
			if (r->sections[i].sh_type == (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB) &&
			    !read_table(r, i, pass == 0)) {
				fail(err, err_len, path, "out of memory reading its symbols");
				return -1;
			}
		}
	}
	if (r->symbols.count > 1)
		qsort(r->symbols.items, r->symbols.count, sizeof(*r->symbols.items), by_address);
	return 0;
}

static int by_address(const void *a, const void *b)
{
	const struct raw_symbol *x = a;
	const struct raw_symbol *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->sequence < y->sequence ? -1 : x->sequence > y->sequence;
}

/* Byte order of the names; a name before every longer name it is the start of. */
static int compare_names(const struct raw_symbol *a, const struct raw_symbol *b)
{
	uint32_t shorter = a->name_length < b->name_length ? a->name_length : b->name_length;
	int order = memcmp(a->name, b->name, shorter);

	if (order)
		return order;
	return a->name_length < b->name_length ? -1 : a->name_length > b->name_length;
}

static uint32_t leading_underscores(const struct raw_symbol *s)
{
	uint32_t n = 0;

	while (n < s->name_length && s->name[n] == '_')
		n++;
	return n;
}

/* Negative when a's name is shown rather than b's (see elf_symbols.h). */
static int prefer(const struct raw_symbol *a, const struct raw_symbol *b)
{
	int a_local = a->flags & ELF_FUNCTION_LOCAL, b_local = b->flags & ELF_FUNCTION_LOCAL;
	int a_hidden = a->flags & ELF_FUNCTION_HIDDEN_VERSION, b_hidden = b->flags & ELF_FUNCTION_HIDDEN_VERSION;
	uint32_t a_underscores, b_underscores;

	if (a_local != b_local)
		return a_local ? 1 : -1;
	if (a_hidden != b_hidden)
		return a_hidden ? 1 : -1;
	a_underscores = leading_underscores(a);
	b_underscores = leading_underscores(b);
	if (a_underscores != b_underscores)
		return a_underscores < b_underscores ? -1 : 1;
	return compare_names(a, b);
}

/* Whether an earlier symbol (in reading order) of the group already has this one's name. */
static bool twin_of_earlier(const struct raw_symbol *group, size_t group_size, const struct raw_symbol *s)
{
	for (size_t k = 0; k < group_size; k++) {
		if (group[k].sequence < s->sequence && compare_names(&group[k], s) == 0)
			return true;
	}
	return false;
}

/*
 * The preferred symbol of each group of symbols at one address, in address order, with its extent; the count of
 * groups. Pass 1 of the index: the total length of the kept names is known before the index is allocated.
 */
struct group {
	const struct raw_symbol *preferred;
	uint64_t end;
};

static size_t group_symbols(const struct raw_symbols *symbols, struct group *groups)
{
	size_t n = 0;

	for (size_t i = 0; i < symbols->count;) {
		const struct raw_symbol *group = &symbols->items[i];
		const struct raw_symbol *preferred = NULL;
		uint64_t sized_end = 0, section_end = 0;
		bool sized = false;
		size_t group_size = 0;

		while (i + group_size < symbols->count && group[group_size].value == group->value)
			group_size++;
		for (size_t k = 0; k < group_size; k++) {
			const struct raw_symbol *s = &group[k];

			if (s->size > 0 && (!sized || s->value + s->size > sized_end)) {
				sized_end = s->value + s->size;
				sized = true;
			}
			if (s->section_end > section_end)
				section_end = s->section_end;
			if ((group_size == 1 || !twin_of_earlier(group, group_size, s)) &&
			    (!preferred || prefer(s, preferred) < 0))
				preferred = s;
		}
		groups[n].preferred = preferred;
		/* A size-0 symbol reaches to its section's end; the next symbol's start bounds it too, because lookup
		 * only ever considers the last symbol starting at or below the address. */
		groups[n].end = sized ? sized_end : section_end;
		n++;
		i += group_size;
	}
	return n;
}

/*
 * The index in one anonymous mapping of its own, not malloc'd: it lives as long as the agent, and a thread whose
 * allocations are tracked (a JMX client asking for a snapshot) may build it; mmap is not an allocator function the
 * probes see, so memleak4j's own tables never show up as the application's outstanding memory. The index takes
 * over the reader's file descriptor.
 */
static struct elf_symbols *build_index(struct reading *r)
{
	size_t groups_size = (r->symbols.count + 1) * sizeof(struct group);
	struct group *groups = scratch_alloc(&r->scratch, groups_size);
	struct elf_symbols *index;
	size_t count, mapping_size;
	char *memory;

	if (!groups)
		return NULL;
	count = group_symbols(&r->symbols, groups);
	mapping_size = sizeof(*index) + count * (2 * sizeof(uint64_t) + 2 * sizeof(uint32_t));
	memory = scratch_alloc(&r->scratch, mapping_size);
	if (!memory) {
		scratch_free(&r->scratch, groups, groups_size);
		return NULL;
	}
	index = (struct elf_symbols *)memory;
	index->count = count;
	index->starts = (uint64_t *)(memory + sizeof(*index));
	index->ends = index->starts + count;
	index->name_offsets = (uint32_t *)(index->ends + count);
	index->name_lengths = index->name_offsets + count;
	for (size_t n = 0; n < count; n++) {
		const struct raw_symbol *preferred = groups[n].preferred;

		index->starts[n] = preferred->value;
		index->ends[n] = groups[n].end;
		index->name_offsets[n] = preferred->name_offset;
		index->name_lengths[n] = preferred->name_length;
	}
	scratch_free(&r->scratch, groups, groups_size);
	index->fd = r->fd;
	r->fd = -1;
	/* Read-only from now on: lookups on several threads, and a stray write faults rather than corrupts. */
	mprotect(memory, mapping_size, PROT_READ);
	return index;
}

struct elf_symbols *elf_symbols_load(const char *path, char *err, size_t err_len)
{
	struct elf_symbols *index = NULL;
	struct reading r;

	if (!start_reading(path, &r, err, err_len)) {
		index = build_index(&r);
		if (!index)
			fail(err, err_len, path, "out of memory indexing its symbols");
	}
	end_reading(&r);
	return index;
}

static int by_sequence(const void *a, const void *b)
{
	const struct raw_symbol *x = a;
	const struct raw_symbol *y = b;

	return x->sequence < y->sequence ? -1 : x->sequence > y->sequence;
}

int elf_symbols_functions(const char *path, elf_function_visitor visit, void *context, char *err, size_t err_len)
{
	struct raw_symbol *items;
	struct reading r;
	int result = -1;
	size_t count;

	if (start_reading(path, &r, err, err_len))
		goto out;
	items = r.symbols.items;
	count = r.symbols.count;
	for (size_t i = 0; i < count;) {
		size_t group_size = 0;

		while (i + group_size < count && items[i + group_size].value == items[i].value)
			group_size++;
		for (size_t k = 0; k < group_size; k++) {
			if (twin_of_earlier(&items[i], group_size, &items[i + k]))
				items[i + k].flags |= FLAG_TWIN;
		}
		i += group_size;
	}
	if (count > 1)
		qsort(items, count, sizeof(*items), by_sequence);
	result = 0;
	for (size_t i = 0; i < count && !result; i++) {
		struct elf_function function = {
			.value = items[i].value,
			.size = items[i].size,
			.section_end = items[i].section_end,
			.name = items[i].name,
			.name_length = items[i].name_length,
			.flags = items[i].flags,
		};

		if (!(items[i].flags & FLAG_TWIN) && visit(context, &function)) {
			fail(err, err_len, path, "out of memory listing its symbols");
			result = -1;
		}
	}
out:
	end_reading(&r);
	return result;
}

long elf_symbols_lookup(const struct elf_symbols *index, uint64_t vaddr, uint64_t *start, char *name, size_t size)
{
	size_t low = 0, high = index->count;
	uint32_t length;

	/* The last symbol starting at or below vaddr. */
	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (index->starts[middle] <= vaddr)
			low = middle + 1;
		else
			high = middle;
	}
	if (low == 0 || vaddr >= index->ends[low - 1])
		return -1;
	*start = index->starts[low - 1];
	length = index->name_lengths[low - 1];
	/* The file changed under the index (rewritten in place, not replaced): no name rather than a wrong one. */
	if (length <= size && !read_at(index->fd, name, length, index->name_offsets[low - 1]))
		return -1;
	return length;
}

size_t elf_symbols_size(const struct elf_symbols *index)
{
	return index->count;
}

int elf_symbols_objects(const char *path, const char *const *names, uint64_t *values, size_t count, char *err,
			size_t err_len)
{
	struct reading r;
	int result = -1;

	memset(values, 0, count * sizeof(*values));
	if (open_sections(path, &r, err, err_len))
		goto out;
	for (size_t i = 0; i < r.section_count; i++) {
		struct symbol_table t;

		if ((r.sections[i].sh_type != SHT_DYNSYM && r.sections[i].sh_type != SHT_SYMTAB) ||
		    !copy_table(&r, i, &t))
			continue;
		for (size_t s = 1; s < t.count; s++) {
			const char *name;
			uint32_t length;

			if (ELF64_ST_TYPE(t.syms[s].st_info) != STT_OBJECT ||
			    !(name = defined_name(&r, &t, &t.syms[s], &length)))
				continue;
			for (size_t k = 0; k < count; k++) {
				if (!values[k] && strlen(names[k]) == length && !memcmp(name, names[k], length))
					values[k] = t.syms[s].st_value;
			}
		}
	}
	result = 0;
out:
	end_reading(&r);
	return result;
}
