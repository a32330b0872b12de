// SPDX-License-Identifier: Apache-2.0
/*
 * See elf_symbols.h. The file is read with libelf's ELF_C_READ (sections read into memory as they are asked for,
 * released by elf_end) rather than mapped: a lingering mapping of a library would show up in the /proc/self/maps
 * that the symbolizer reads, and a mapped file truncated on disk would fault.
 */
#define _GNU_SOURCE
#include "elf_symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
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

struct elf_symbols {
	size_t count;
	uint64_t *starts;
	/* Exclusive end of each symbol: start + size, or the section end for a symbol without a size. */
	uint64_t *ends;
	/* Offset of each kept name in names; every name is NUL-terminated. */
	uint32_t *name_offsets;
	char *names;
};

/* One defined function symbol as the file has it, while the index is built. */
struct raw_symbol {
	uint64_t value;
	uint64_t size;
	uint64_t section_end;
	const char *name; /* inside libelf's copy of the string table; valid until elf_end */
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

/* Length of a symbol name: up to its NUL, or to the "@VER"/"@@VER" that .symtab names may carry. */
static uint32_t name_length(const char *name)
{
	size_t length = strcspn(name, "@");

	return length > UINT32_MAX ? UINT32_MAX : (uint32_t)length;
}

static bool add_symbol(struct raw_symbols *symbols, const struct raw_symbol *symbol)
{
	if (symbols->count == symbols->capacity) {
		size_t grown = symbols->capacity ? symbols->capacity * 2 : 4096;
		struct raw_symbol *items = realloc(symbols->items, grown * sizeof(*items));

		if (!items)
			return false;
		symbols->items = items;
		symbols->capacity = grown;
	}
	symbols->items[symbols->count] = *symbol;
	symbols->items[symbols->count].sequence = (uint32_t)symbols->count;
	symbols->count++;
	return true;
}

/* The .gnu.version data that belongs to the symbol table at section index symtab_index, or NULL. */
static Elf_Data *versions_of(Elf *elf, size_t symtab_index)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_GNU_versym && shdr.sh_link == symtab_index)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

/*
 * Adds the defined FUNC and IFUNC symbols of one symbol table; false only when memory ran out. section_ends holds
 * each section's end address, which bounds a size-less symbol.
 */
static bool read_table(Elf *elf, Elf_Scn *table, const GElf_Shdr *table_header, bool dynamic,
		       const uint64_t *section_ends, size_t section_count, struct raw_symbols *symbols)
{
	Elf_Data *data = elf_getdata(table, NULL);
	Elf_Data *versions = dynamic ? versions_of(elf, elf_ndxscn(table)) : NULL;
	size_t count;

	if (!data || table_header->sh_entsize == 0 || table_header->sh_link == 0 ||
	    table_header->sh_link >= section_count)
		return true; /* no usable table: no symbols from it */
	count = data->d_size / sizeof(Elf64_Sym);
	/* Entry 0 is the reserved null symbol. */
	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		struct raw_symbol symbol;
		uint32_t length;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_value == 0 || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE || sym.st_shndx >= section_count)
			continue;
		name = elf_strptr(elf, table_header->sh_link, sym.st_name);
		if (!name || (length = name_length(name)) == 0)
			continue;
		symbol = (struct raw_symbol){
			.value = sym.st_value,
			.size = sym.st_size,
			.section_end = section_ends[sym.st_shndx],
			.name = name,
			.name_length = length,
			.flags = (GELF_ST_BIND(sym.st_info) == STB_LOCAL ? ELF_FUNCTION_LOCAL : 0) |
				 (dynamic ? ELF_FUNCTION_DYNAMIC : 0) | (type == STT_GNU_IFUNC ? ELF_FUNCTION_IFUNC : 0),
		};
		if (versions && (i + 1) * sizeof(uint16_t) <= versions->d_size &&
		    (((const uint16_t *)versions->d_buf)[i] & VERSYM_HIDDEN))
			symbol.flags |= ELF_FUNCTION_HIDDEN_VERSION;
		if (!add_symbol(symbols, &symbol))
			return false;
	}
	return true;
}

/* Every defined function symbol of .dynsym, then of .symtab; false only when memory ran out. */
static bool read_symbols(Elf *elf, size_t section_count, struct raw_symbols *symbols)
{
	/* Each section's end, read once (libelf has every header once elf_getshdrnum succeeded): a symbol's extent may
	 * need its section's. */
	uint64_t *section_ends = calloc(section_count ? section_count : 1, sizeof(uint64_t));
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	bool ok = true;

	if (!section_ends)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &shdr) && elf_ndxscn(scn) < section_count)
			section_ends[elf_ndxscn(scn)] = shdr.sh_addr + shdr.sh_size;
	}
	for (int pass = 0; pass < 2 && ok; pass++) {
		scn = NULL;
		while (ok && (scn = elf_nextscn(elf, scn))) {
			if (gelf_getshdr(scn, &shdr) && shdr.sh_type == (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB))
				ok = read_table(elf, scn, &shdr, pass == 0, section_ends, section_count, symbols);
		}
	}
	free(section_ends);
	return ok;
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

static size_t group_symbols(const struct raw_symbols *symbols, struct group *groups, size_t *names_size)
{
	size_t n = 0;

	*names_size = 0;
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
		*names_size += preferred->name_length + 1;
		n++;
		i += group_size;
	}
	return n;
}

/*
 * The index in one anonymous mapping of its own, not malloc'd: it lives as long as the agent, and a thread whose
 * allocations are tracked (a JMX client asking for a snapshot) may build it; mmap is not an allocator function the
 * probes see, so memleak4j's own tables never show up as the application's outstanding memory.
 */
static struct elf_symbols *build_index(const struct raw_symbols *symbols)
{
	struct group *groups = malloc((symbols->count + 1) * sizeof(*groups));
	struct elf_symbols *index;
	size_t count, names_size, mapping_size, offset = 0;
	char *memory;

	if (!groups)
		return NULL;
	count = group_symbols(symbols, groups, &names_size);
	if (names_size > UINT32_MAX) {
		free(groups);
		return NULL;
	}
	mapping_size = sizeof(*index) + count * (2 * sizeof(uint64_t) + sizeof(uint32_t)) + names_size;
	memory = mmap(NULL, mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED) {
		free(groups);
		return NULL;
	}
	index = (struct elf_symbols *)memory;
	index->count = count;
	index->starts = (uint64_t *)(memory + sizeof(*index));
	index->ends = index->starts + count;
	index->name_offsets = (uint32_t *)(index->ends + count);
	index->names = (char *)(index->name_offsets + count);
	for (size_t n = 0; n < count; n++) {
		const struct raw_symbol *preferred = groups[n].preferred;

		index->starts[n] = preferred->value;
		index->ends[n] = groups[n].end;
		index->name_offsets[n] = (uint32_t)offset;
		memcpy(index->names + offset, preferred->name, preferred->name_length);
		offset += preferred->name_length;
		index->names[offset++] = '\0';
	}
	free(groups);
	/* Read-only from now on: lookups on several threads, and a stray write faults rather than corrupts. */
	mprotect(memory, mapping_size, PROT_READ);
	return index;
}

/* An open file and its function symbols, while an index or a listing is made from them. */
struct reading {
	int fd;
	Elf *elf;
	struct raw_symbols symbols; /* names point into elf's copy of the string tables */
};

static void end_reading(struct reading *r)
{
	free(r->symbols.items);
	if (r->elf)
		elf_end(r->elf);
	if (r->fd >= 0)
		close(r->fd);
}

/*
 * Every defined function symbol of the file at path, sorted by address (ties in reading order); 0, or -1 with a
 * message in err. end_reading releases r either way.
 */
static int start_reading(const char *path, struct reading *r, char *err, size_t err_len)
{
	size_t section_count;
	struct stat st;

	*r = (struct reading){.fd = -1};
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fail(err, err_len, path, "libelf is too old");
		return -1;
	}
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
	r->elf = elf_begin(r->fd, ELF_C_READ, NULL);
	if (!r->elf || elf_kind(r->elf) != ELF_K_ELF || gelf_getclass(r->elf) != ELFCLASS64) {
		fail(err, err_len, path, "not a 64-bit ELF file");
		return -1;
	}
	if (elf_getshdrnum(r->elf, &section_count)) {
		fail(err, err_len, path, elf_errmsg(-1));
		return -1;
	}
	if (!read_symbols(r->elf, section_count, &r->symbols)) {
		fail(err, err_len, path, "out of memory reading its symbols");
		return -1;
	}
	qsort(r->symbols.items, r->symbols.count, sizeof(*r->symbols.items), by_address);
	return 0;
}

struct elf_symbols *elf_symbols_load(const char *path, char *err, size_t err_len)
{
	struct elf_symbols *index = NULL;
	struct reading r;

	if (!start_reading(path, &r, err, err_len)) {
		index = build_index(&r.symbols);
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

const char *elf_symbols_lookup(const struct elf_symbols *index, uint64_t vaddr, uint64_t *start)
{
	size_t low = 0, high = index->count;

	/* The last symbol starting at or below vaddr. */
	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (index->starts[middle] <= vaddr)
			low = middle + 1;
		else
			high = middle;
	}
	if (low == 0 || vaddr >= index->ends[low - 1])
		return NULL;
	*start = index->starts[low - 1];
	return index->names + index->name_offsets[low - 1];
}

size_t elf_symbols_size(const struct elf_symbols *index)
{
	return index->count;
}
