/*
 * HotSpot Method* -> "pkg.Class.method" through VMStructs, for interpreted frames: the BPF stack walk reads the
 * Method* of an interpreted frame from the frame itself ([fp - 3*8] on x86-64) and the reporter resolves it here.
 *
 * Method::_constMethod -> ConstMethod::_constants -> ConstantPool::_pool_holder -> Klass::_name (a Symbol),
 * and ConstMethod::_name_index, an index into the constant pool's slots (which follow the ConstantPool object:
 * base + sizeof(ConstantPool)), holding the Symbol* of the name.
 *
 * A value from a stack may be garbage (the frame was not really interpreted, the class was unloaded since):
 * every read goes through process_vm_readv on this very process, which fails with EFAULT instead of faulting,
 * and the chain is checked (alignment, constant pool index and tag, the holder class knowing the method or
 * its constant pool) before anything is believed. Nothing here allocates on the C heap after initialisation.
 */
#define _GNU_SOURCE
#include "jvm_vmstructs.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define JVM_CONSTANT_UTF8 1
#define MAX_SYMBOL 65535
#define MAX_METHODS_SCANNED 65536

/*
 * The part of a structure that holds the fields of interest, [lo, lo + len) from its start: a Method* is named from
 * four structures, each read with one system call instead of one per field (each read costs a system call and the
 * pinning of a page). All the fields lie inside the structure, so the span does too: reading it is as safe as
 * reading any one of its fields.
 */
struct span {
    long lo, len;
};
#define MAX_SPAN 4096

static struct {
    int ready;  /* 1: all offsets found; -1: failed (message in error) */
    char error[256];
    long method_const_method;
    long const_method_constants;
    long const_method_name_index;
    long const_method_code_size;
    long const_method_idnum;     /* optional: -1 when absent (then no jmethodID is read) */
    long cp_tags;
    long cp_pool_holder;
    long cp_length;
    long klass_name;
    long ik_constants;
    long ik_methods;
    long ik_jmethod_ids;         /* optional, as const_method_idnum */
    long symbol_length;
    long symbol_body;
    long array_length;       /* Array<T>::_length */
    long array_u1_data;      /* Array<u1>::_data */
    long array_ptr_data;     /* Array<Method*>::_data */
    long sizeof_cp;          /* sizeof(ConstantPool) */
    uintptr_t interpreter_code; /* address of the static AbstractInterpreter::_code (a StubQueue*) */
    long stubq_buffer;
    long stubq_limit;
    /* The bytes of each structure that naming a Method* needs, read in one go (see struct span). */
    struct span const_method_span, cp_span, klass_span;
} vm;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t self_pid;

struct table {
    uintptr_t base;
    uint64_t stride;
    uint64_t type_name, field_name, offset, address, size; /* offsets within an entry */
};
/* The three tables, kept for the look-ups of other files (vmstructs_field...); valid once vm.ready == 1. */
static struct table fields, types, int_constants;

/*
 * Reads in passes. A report reads thousands of small pieces of the JVM's memory (Method*s and their constant pools,
 * Symbols, nmethods' scope tables, the bytes before return addresses), most of them in pages it read a moment before;
 * each read is a system call that looks the process up and pins a page, 1-2 us when the kernel's page tables are cold.
 * Between safe_read_pass_begin() and safe_read_pass_end(), the reads of the thread that began the pass go through a
 * cache of whole pages, each filled by one system call. One pass at a time (the report holds its collector's lock);
 * other threads read as always.
 *
 * What a pass assumes: what it reads does not change while it runs, a fraction of a second. What can change (a class
 * unloaded, an nmethod flushed) could as well have changed between the allocation and the report, and the readers check
 * for it as before (the holder class knows its constant pool, the code map's generation). The one change the agent
 * itself makes and then reads back, a class's jmethodIDs created through JVMTI, empties the cache
 * (safe_read_pass_forget).
 */
#define PASS_PAGE 4096UL
#define PASS_PAGES 256
static uint8_t *pass_bytes; /* PASS_PAGES pages, mapped at the first pass; given back to the kernel after each */
static uintptr_t pass_tags[PASS_PAGES]; /* the page each slot holds, 0 for none */
static int pass_busy;                   /* 1 while a thread is in a pass */
static __thread int in_pass;

static int read_direct(void *dst, uintptr_t addr, size_t len);

int safe_read_pass_begin(void) {
    if (__atomic_exchange_n(&pass_busy, 1, __ATOMIC_ACQUIRE)) {
        return 0; /* another thread's pass: this one reads as always */
    }
    if (pass_bytes == NULL) {
        void *p = mmap(NULL, PASS_PAGES * PASS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            __atomic_store_n(&pass_busy, 0, __ATOMIC_RELEASE);
            return 0;
        }
        pass_bytes = p;
    }
    memset(pass_tags, 0, sizeof(pass_tags));
    in_pass = 1;
    return 1;
}

void safe_read_pass_forget(void) {
    if (in_pass) {
        memset(pass_tags, 0, sizeof(pass_tags));
    }
}

void safe_read_pass_end(void) {
    if (!in_pass) {
        return;
    }
    in_pass = 0;
    madvise(pass_bytes, PASS_PAGES * PASS_PAGE, MADV_DONTNEED); /* no copy of the JVM's memory kept between reports */
    __atomic_store_n(&pass_busy, 0, __ATOMIC_RELEASE);
}

/* A read inside a pass: page by page through the cache. A page that cannot be read fails the read, as the read of any
 * byte in it would (a page is readable whole or not at all). */
static int pass_read(uint8_t *dst, uintptr_t addr, size_t len) {
    while (len > 0) {
        uintptr_t page = addr & ~(PASS_PAGE - 1);
        size_t here = PASS_PAGE - (addr - page);
        if (here > len) {
            here = len;
        }
        unsigned slot = (unsigned)((page / PASS_PAGE) ^ (page / PASS_PAGE / PASS_PAGES)) & (PASS_PAGES - 1);
        uint8_t *cached = pass_bytes + (size_t)slot * PASS_PAGE;
        if (pass_tags[slot] != page) {
            pass_tags[slot] = 0;
            if (read_direct(cached, page, PASS_PAGE) != 0) {
                return -1;
            }
            pass_tags[slot] = page;
        }
        memcpy(dst, cached + (addr - page), here);
        dst += here;
        addr += here;
        len -= here;
    }
    return 0;
}

int safe_read(void *dst, uintptr_t addr, size_t len) {
    if (len == 0) {
        return 0;
    }
    /* User space on x86-64 ends at 2^47; the first page is never mapped. */
    if (addr < 4096 || addr >= (1ULL << 47) || len > (1ULL << 30) || addr + len > (1ULL << 47)) {
        return -1;
    }
    return in_pass ? pass_read(dst, addr, len) : read_direct(dst, addr, len);
}

static int read_direct(void *dst, uintptr_t addr, size_t len) {
    struct iovec local = {.iov_base = dst, .iov_len = len};
    struct iovec remote = {.iov_base = (void *)addr, .iov_len = len};
    pid_t pid = __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
    if (pid == 0) {
        pid = getpid();
        __atomic_store_n(&self_pid, pid, __ATOMIC_RELAXED);
    }
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return n == (ssize_t)len ? 0 : -1;
}

static int read_ptr(uintptr_t addr, uintptr_t *out) {
    return safe_read(out, addr, sizeof(*out));
}

/* Reads a global of libjvm holding a pointer or a 64-bit number. */
static int jvm_global(void *handle, const char *name, uint64_t *out) {
    void *p = dlsym(handle, name);
    if (p == NULL) {
        return -1;
    }
    return safe_read(out, (uintptr_t)p, sizeof(*out));
}

static int read_cstring(uintptr_t addr, char *out, size_t len) {
    /*
     * Strings of the VMStructs tables are in libjvm's read-only data; read them defensively anyway, but not a byte per
     * system call: the table scans read thousands of names at every start. A read stops at the end of its 4 KiB page,
     * so it never reaches into a page that is not mapped, and the next page is read only if the string goes on.
     */
    size_t done = 0;
    while (done + 1 < len) {
        uintptr_t at = addr + done;
        size_t chunk = 4096 - (at & 4095);
        if (chunk > len - 1 - done) {
            chunk = len - 1 - done;
        }
        if (safe_read(out + done, at, chunk) != 0) {
            return -1;
        }
        if (memchr(out + done, '\0', chunk) != NULL) {
            return 0;
        }
        done += chunk;
    }
    out[len - 1] = '\0';
    return 0;
}

/*
 * What the tables' names hash to, by the address of the string. Every look-up scans a table of thousands of entries,
 * and comparing each entry's name meant reading it, a system call per entry and look-up, a few dozen look-ups at every
 * start. The tables hold far fewer distinct strings (all the fields of a type point to one type name), so each is
 * read once and then compared by its hash; a hash that matches is read again to be sure. Static memory: never malloc
 * here.
 */
#define NAME_SLOTS 8192
static struct {
    uintptr_t ptr;
    uint64_t hash;
} name_hashes[NAME_SLOTS];
static uint32_t name_hash_count;
static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t text_hash(const char *text) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *)text; *c != 0; c++) {
        h = (h ^ *c) * 0x100000001b3ULL;
    }
    return h;
}

/* The hash of the name at ptr (as read_cstring reads it), remembered; -1 when unreadable. Under name_lock. */
static int name_hash(uintptr_t ptr, uint64_t *out) {
    uint32_t j = (uint32_t)((ptr * 0x9e3779b97f4a7c15ULL) >> 40) & (NAME_SLOTS - 1);
    while (name_hashes[j].ptr != 0) {
        if (name_hashes[j].ptr == ptr) {
            *out = name_hashes[j].hash;
            return 0;
        }
        j = (j + 1) & (NAME_SLOTS - 1);
    }
    char text[128];
    if (read_cstring(ptr, text, sizeof(text)) != 0) {
        return -1;
    }
    *out = text_hash(text);
    if (name_hash_count < NAME_SLOTS / 4 * 3) {
        name_hashes[j].ptr = ptr;
        name_hashes[j].hash = *out;
        name_hash_count++;
    }
    return 0;
}

/* Whether the string at ptr reads text (whose hash is hash). Under name_lock. */
static int name_is(uintptr_t ptr, const char *text, uint64_t hash) {
    uint64_t h = 0;
    char read[128];
    return ptr != 0 && name_hash(ptr, &h) == 0 && h == hash && read_cstring(ptr, read, sizeof(read)) == 0
           && strcmp(read, text) == 0;
}

/*
 * The entry of one of the tables whose name (its type name, or a constant's name) is {@code name} and, when field is
 * not NULL, whose field name is field; 0 when there is none. The tables end with an entry without a name. Entries
 * are read a page at a time (one by one where that read fails, at the end of the table's mapping).
 */
static uintptr_t find_entry(const struct table *t, const char *name, const char *field) {
    unsigned char page[4096];
    size_t per_read = t->stride >= sizeof(uintptr_t) && t->stride <= sizeof(page)
                              && t->type_name + sizeof(uintptr_t) <= t->stride
                              && (field == NULL || t->field_name + sizeof(uintptr_t) <= t->stride)
                          ? sizeof(page) / t->stride
                          : 1;
    int in_page = 0;
    uint64_t name_hash_wanted = text_hash(name), field_hash_wanted = field != NULL ? text_hash(field) : 0;
    uintptr_t name_seen = 0, found = 0;
    int name_seen_matches = 0;
    pthread_mutex_lock(&name_lock);
    for (int i = 0; i < 100000; i++) {
        uintptr_t entry = t->base + (uintptr_t)i * t->stride;
        uintptr_t name_ptr = 0, field_ptr = 0;
        if (i % (int)per_read == 0) {
            in_page = per_read > 1 && safe_read(page, entry, per_read * t->stride) == 0;
        }
        const unsigned char *bytes = page + (size_t)(i % (int)per_read) * t->stride;
        if (in_page) {
            memcpy(&name_ptr, bytes + t->type_name, sizeof(name_ptr));
        } else if (read_ptr(entry + t->type_name, &name_ptr) != 0) {
            break; /* unreadable */
        }
        if (name_ptr == 0) {
            break; /* the end of the table */
        }
        if (name_ptr != name_seen) {
            name_seen = name_ptr;
            name_seen_matches = name_is(name_ptr, name, name_hash_wanted);
        }
        if (!name_seen_matches) {
            continue;
        }
        if (field != NULL) {
            if (in_page) {
                memcpy(&field_ptr, bytes + t->field_name, sizeof(field_ptr));
            } else if (read_ptr(entry + t->field_name, &field_ptr) != 0) {
                continue;
            }
            if (!name_is(field_ptr, field, field_hash_wanted)) {
                continue;
            }
        }
        found = entry;
        break;
    }
    pthread_mutex_unlock(&name_lock);
    return found;
}

/* Finds type::field in gHotSpotVMStructs: its offset (non-static) or its address (static). -1 when absent. */
static int find_field(const struct table *t, const char *type, const char *field, long *offset, uintptr_t *address) {
    uintptr_t entry = find_entry(t, type, field);
    uint64_t off = 0;
    uintptr_t addr = 0;
    if (entry == 0 || safe_read(&off, entry + t->offset, sizeof(off)) != 0
        || read_ptr(entry + t->address, &addr) != 0) {
        return -1;
    }
    if (offset != NULL) {
        *offset = (long)off;
    }
    if (address != NULL) {
        *address = addr;
    }
    return 0;
}

static int find_type_size(const struct table *t, const char *type, long *size) {
    uintptr_t entry = find_entry(t, type, NULL);
    uint64_t s = 0;
    if (entry == 0 || safe_read(&s, entry + t->size, sizeof(s)) != 0) {
        return -1;
    }
    *size = (long)s;
    return 0;
}

static void *find_libjvm(JNIEnv *env) {
    /* The JNI function table lives in libjvm (also the checked one of -Xcheck:jni). */
    Dl_info info;
    if (env != NULL && dladdr((void *)(*env)->GetVersion, &info) != 0 && info.dli_fname != NULL) {
        void *handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (handle != NULL) {
            return handle;
        }
    }
    return dlopen("libjvm.so", RTLD_LAZY | RTLD_NOLOAD);
}

int vmstructs_libjvm(JNIEnv *env, char *path, size_t path_len, uintptr_t *vmstructs_at) {
    void *jvm = find_libjvm(env);
    void *symbol = jvm != NULL ? dlsym(jvm, "gHotSpotVMStructs") : NULL;
    Dl_info info;
    if (symbol == NULL || dladdr(symbol, &info) == 0 || info.dli_fname == NULL
        || (size_t)snprintf(path, path_len, "%s", info.dli_fname) >= path_len) {
        return -1;
    }
    *vmstructs_at = (uintptr_t)symbol;
    return 0;
}

/* Widens a span to hold a field of size bytes at offset (a negative offset is a field this JVM does not have). */
static void span_add(struct span *s, long offset, long size) {
    if (s->len == 0) {
        s->lo = offset;
        s->len = size;
        return;
    }
    long hi = s->lo + s->len > offset + size ? s->lo + s->len : offset + size;
    s->lo = s->lo < offset ? s->lo : offset;
    s->len = hi - s->lo;
}

/* Reads a structure's span at base into buf (MAX_SPAN bytes). */
static int span_read(const struct span *s, uintptr_t base, unsigned char *buf) {
    return safe_read(buf, base + (uintptr_t)s->lo, (size_t)s->len);
}

/* A field of a span read by span_read. */
static uintptr_t span_ptr(const struct span *s, const unsigned char *buf, long offset) {
    uintptr_t v;
    memcpy(&v, buf + (offset - s->lo), sizeof(v));
    return v;
}

static uint16_t span_u16(const struct span *s, const unsigned char *buf, long offset) {
    uint16_t v;
    memcpy(&v, buf + (offset - s->lo), sizeof(v));
    return v;
}

static int32_t span_i32(const struct span *s, const unsigned char *buf, long offset) {
    int32_t v;
    memcpy(&v, buf + (offset - s->lo), sizeof(v));
    return v;
}

static int fail(const char *what) {
    snprintf(vm.error, sizeof(vm.error), "%s", what);
    vm.ready = -1;
    return -1;
}

static int do_init(JNIEnv *env) {
    void *jvm = find_libjvm(env);
    if (jvm == NULL) {
        return fail("libjvm.so is not loaded in this process (not HotSpot?)");
    }
    uint64_t v;
#define GLOBAL(name, dst)                                                  \
    do {                                                                   \
        if (jvm_global(jvm, name, &v) != 0) {                              \
            return fail("libjvm does not export " name " (not HotSpot?)"); \
        }                                                                  \
        dst = v;                                                           \
    } while (0)
    GLOBAL("gHotSpotVMStructs", fields.base);
    GLOBAL("gHotSpotVMStructEntryArrayStride", fields.stride);
    GLOBAL("gHotSpotVMStructEntryTypeNameOffset", fields.type_name);
    GLOBAL("gHotSpotVMStructEntryFieldNameOffset", fields.field_name);
    GLOBAL("gHotSpotVMStructEntryOffsetOffset", fields.offset);
    GLOBAL("gHotSpotVMStructEntryAddressOffset", fields.address);
    fields.size = 0;
    GLOBAL("gHotSpotVMTypes", types.base);
    GLOBAL("gHotSpotVMTypeEntryArrayStride", types.stride);
    GLOBAL("gHotSpotVMTypeEntryTypeNameOffset", types.type_name);
    GLOBAL("gHotSpotVMTypeEntrySizeOffset", types.size);
    types.field_name = types.offset = types.address = 0;
    /* The integer constants are optional (only the frame walk reads them). */
    if (jvm_global(jvm, "gHotSpotVMIntConstants", &v) == 0) {
        int_constants.base = v;
        if (jvm_global(jvm, "gHotSpotVMIntConstantEntryArrayStride", &int_constants.stride) != 0
            || jvm_global(jvm, "gHotSpotVMIntConstantEntryNameOffset", &int_constants.type_name) != 0
            || jvm_global(jvm, "gHotSpotVMIntConstantEntryValueOffset", &int_constants.offset) != 0) {
            int_constants.base = 0;
        }
    }
#undef GLOBAL
    /* libjvm stays loaded for the life of the JVM: the handle's reference is never dropped. */
#define FIELD(type, field, dst)                                              \
    do {                                                                     \
        if (find_field(&fields, type, field, &dst, NULL) != 0) {             \
            return fail("VMStructs has no " type "::" field);                \
        }                                                                    \
    } while (0)
    FIELD("Method", "_constMethod", vm.method_const_method);
    FIELD("ConstMethod", "_constants", vm.const_method_constants);
    FIELD("ConstMethod", "_name_index", vm.const_method_name_index);
    FIELD("ConstMethod", "_code_size", vm.const_method_code_size);
    FIELD("ConstantPool", "_tags", vm.cp_tags);
    FIELD("ConstantPool", "_pool_holder", vm.cp_pool_holder);
    FIELD("ConstantPool", "_length", vm.cp_length);
    FIELD("Klass", "_name", vm.klass_name);
    FIELD("InstanceKlass", "_constants", vm.ik_constants);
    FIELD("InstanceKlass", "_methods", vm.ik_methods);
    FIELD("Symbol", "_length", vm.symbol_length);
    FIELD("Symbol", "_body", vm.symbol_body);
    FIELD("Array<int>", "_length", vm.array_length);
    FIELD("Array<u1>", "_data", vm.array_u1_data);
    FIELD("Array<Method*>", "_data", vm.array_ptr_data);
#undef FIELD
    if (find_type_size(&types, "ConstantPool", &vm.sizeof_cp) != 0 || vm.sizeof_cp <= 0) {
        return fail("VMTypes has no ConstantPool");
    }
    /* Optional: the class's jmethodID cache, for the line numbers of interpreted frames. */
    if (find_field(&fields, "ConstMethod", "_method_idnum", &vm.const_method_idnum, NULL) != 0
        || find_field(&fields, "InstanceKlass", "_methods_jmethod_ids", &vm.ik_jmethod_ids, NULL) != 0) {
        vm.const_method_idnum = vm.ik_jmethod_ids = -1;
    }
    span_add(&vm.const_method_span, vm.const_method_constants, sizeof(uintptr_t));
    span_add(&vm.const_method_span, vm.const_method_name_index, sizeof(uint16_t));
    span_add(&vm.const_method_span, vm.const_method_code_size, sizeof(uint16_t));
    if (vm.const_method_idnum >= 0) {
        span_add(&vm.const_method_span, vm.const_method_idnum, sizeof(uint16_t));
    }
    span_add(&vm.cp_span, vm.cp_tags, sizeof(uintptr_t));
    span_add(&vm.cp_span, vm.cp_pool_holder, sizeof(uintptr_t));
    span_add(&vm.cp_span, vm.cp_length, sizeof(int32_t));
    span_add(&vm.klass_span, vm.klass_name, sizeof(uintptr_t));
    span_add(&vm.klass_span, vm.ik_constants, sizeof(uintptr_t));
    span_add(&vm.klass_span, vm.ik_methods, sizeof(uintptr_t));
    if (vm.ik_jmethod_ids >= 0) {
        span_add(&vm.klass_span, vm.ik_jmethod_ids, sizeof(uintptr_t));
    }
    if (vm.const_method_span.len > MAX_SPAN || vm.cp_span.len > MAX_SPAN || vm.klass_span.len > MAX_SPAN) {
        return fail("VMStructs: the fields of ConstMethod, ConstantPool or InstanceKlass are further apart than "
                    "expected (not HotSpot's layout?)");
    }
    /* Optional: the interpreter's code. */
    if (find_field(&fields, "AbstractInterpreter", "_code", NULL, &vm.interpreter_code) != 0
        || find_field(&fields, "StubQueue", "_stub_buffer", &vm.stubq_buffer, NULL) != 0
        || find_field(&fields, "StubQueue", "_buffer_limit", &vm.stubq_limit, NULL) != 0) {
        vm.interpreter_code = 0;
    }
    vm.ready = 1;
    return 0;
}

int vmstructs_init_once(pthread_mutex_t *lock, int *ready, int (*init)(JNIEnv *), JNIEnv *env, const char *error,
                        char *err, size_t err_len) {
    pthread_mutex_lock(lock);
    if (*ready == 0) {
        init(env);
    }
    int ok = *ready == 1 ? 0 : -1;
    if (ok != 0 && err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", error);
    }
    pthread_mutex_unlock(lock);
    return ok;
}

int vmstructs_init(JNIEnv *env, char *err, size_t err_len) {
    return vmstructs_init_once(&init_lock, &vm.ready, do_init, env, vm.error, err, err_len);
}

static int ready(void) {
    /* vm is written once under init_lock before ready becomes 1. */
    return __atomic_load_n(&vm.ready, __ATOMIC_ACQUIRE) == 1;
}

/* Checks modified UTF-8 as the JVM stores names (no NUL, no control characters in a name). */
static int plausible_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return 0;
            }
            i++;
        } else if ((c & 0xe0) == 0xc0) {
            if (i + 1 >= len || (s[i + 1] & 0xc0) != 0x80) {
                return 0;
            }
            i += 2;
        } else if ((c & 0xf0) == 0xe0) {
            if (i + 2 >= len || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80) {
                return 0;
            }
            i += 3;
        } else {
            return 0;
        }
    }
    return 1;
}

/*
 * Appends a Symbol's text to out at *pos; dots_for_slashes turns "java/lang/String" into "java.lang.String". One read
 * takes the length and the first bytes of the text, up to the end of the length's page (mapped, as the length is);
 * a second one only when the text goes on past it.
 */
static int append_symbol(uintptr_t symbol, char *out, size_t out_len, size_t *pos, int dots_for_slashes) {
    unsigned char head[256];
    uintptr_t at = symbol + (uintptr_t)vm.symbol_length;
    long body = vm.symbol_body - vm.symbol_length; /* the text's offset from the length */
    if ((symbol & 3) != 0 || body < (long)sizeof(uint16_t) || body >= (long)sizeof(head)) {
        return -1;
    }
    size_t chunk = 4096 - (at & 4095);
    if (chunk > sizeof(head)) {
        chunk = sizeof(head);
    }
    if (chunk < (size_t)body) {
        chunk = (size_t)body; /* the header crosses a page: read it whole (a fault fails the read) */
    }
    uint16_t len = 0;
    if (safe_read(head, at, chunk) != 0) {
        return -1;
    }
    memcpy(&len, head, sizeof(len));
    if (len == 0 || *pos + len + 1 > out_len) {
        return -1;
    }
    unsigned char *dst = (unsigned char *)out + *pos;
    size_t have = chunk - (size_t)body < len ? chunk - (size_t)body : len;
    memcpy(dst, head + body, have);
    if ((have < len && safe_read(dst + have, at + (uintptr_t)body + have, len - have) != 0)
        || !plausible_utf8(dst, len)) {
        return -1;
    }
    if (dots_for_slashes) {
        for (size_t i = 0; i < len; i++) {
            if (dst[i] == '/') {
                dst[i] = '.';
            }
        }
    }
    *pos += len;
    out[*pos] = '\0';
    return 0;
}

/* Whether the class's method array (methods, from the class) holds this Method* (read in one go, in slices). */
static int class_has_method(uintptr_t methods, uintptr_t method) {
    int32_t count = 0;
    if ((methods & 7) != 0 || safe_read(&count, methods + vm.array_length, sizeof(count)) != 0 || count <= 0
        || count > MAX_METHODS_SCANNED) {
        return 0;
    }
    uintptr_t slice[256];
    for (int32_t done = 0; done < count;) {
        int32_t n = count - done < 256 ? count - done : 256;
        if (safe_read(slice, methods + vm.array_ptr_data + (uintptr_t)done * sizeof(uintptr_t),
                      (size_t)n * sizeof(uintptr_t)) != 0) {
            return 0;
        }
        for (int32_t i = 0; i < n; i++) {
            if (slice[i] == method) {
                return 1;
            }
        }
        done += n;
    }
    return 0;
}

/*
 * The jmethodID in slot idnum of a class's jmethodID cache ([0] its length, then one slot per idnum); 0 when none.
 * The length and the slot in one read when they are less than a page apart (a few hundred methods).
 */
static uintptr_t cached_jmethod_id(uintptr_t ids, uint16_t idnum) {
    uintptr_t words[MAX_SPAN / sizeof(uintptr_t)];
    size_t needed = (size_t)idnum + 2;
    if (ids == 0 || (ids & 7) != 0) {
        return 0;
    }
    if (needed <= sizeof(words) / sizeof(words[0])) {
        if (safe_read(words, ids, needed * sizeof(uintptr_t)) != 0) {
            return 0;
        }
    } else if (safe_read(&words[0], ids, sizeof(uintptr_t)) != 0
               || safe_read(&words[1], ids + (needed - 1) * sizeof(uintptr_t), sizeof(uintptr_t)) != 0) {
        return 0;
    } else {
        needed = 2;
    }
    return words[0] > idnum ? words[needed - 1] : 0;
}

static int describe(uintptr_t method, char *out, size_t out_len, struct vm_method *facts, int from_nmethod) {
    if (!ready() || out == NULL || out_len < 4 || (method & 7) != 0) {
        return -1;
    }
    unsigned char cm_bytes[MAX_SPAN], cp_bytes[MAX_SPAN], klass_bytes[MAX_SPAN];
    uintptr_t const_method = 0, name = 0;
    uint8_t tag = 0;
    if (read_ptr(method + vm.method_const_method, &const_method) != 0 || (const_method & 7) != 0
        || span_read(&vm.const_method_span, const_method, cm_bytes) != 0) {
        return -1;
    }
    uintptr_t cp = span_ptr(&vm.const_method_span, cm_bytes, vm.const_method_constants);
    uint16_t name_index = span_u16(&vm.const_method_span, cm_bytes, vm.const_method_name_index);
    /* The name's slot follows the ConstantPool object: read with its fields when near enough. Past the pool's
     * end (an index out of range, refused below) the read may fail: refused all the same. */
    long slot = vm.sizeof_cp + (long)name_index * (long)sizeof(uintptr_t);
    struct span cp_span = vm.cp_span;
    int slot_read = slot + (long)sizeof(uintptr_t) - cp_span.lo <= MAX_SPAN;
    if (slot_read) {
        span_add(&cp_span, slot, sizeof(uintptr_t));
    }
    if ((cp & 7) != 0 || span_read(&cp_span, cp, cp_bytes) != 0) {
        return -1;
    }
    uintptr_t holder = span_ptr(&cp_span, cp_bytes, vm.cp_pool_holder);
    uintptr_t tags = span_ptr(&cp_span, cp_bytes, vm.cp_tags);
    int32_t cp_length = span_i32(&cp_span, cp_bytes, vm.cp_length);
    if (slot_read) {
        name = span_ptr(&cp_span, cp_bytes, slot);
    }
    if ((holder & 7) != 0 || span_read(&vm.klass_span, holder, klass_bytes) != 0) {
        return -1;
    }
    /* The holder must know this constant pool (its current one) or this very method (a method of an older
     * version of a redefined class keeps the older pool). */
    if (!from_nmethod && span_ptr(&vm.klass_span, klass_bytes, vm.ik_constants) != cp
        && !class_has_method(span_ptr(&vm.klass_span, klass_bytes, vm.ik_methods), method)) {
        return -1;
    }
    if (name_index == 0 || (int32_t)name_index >= cp_length || (tags & 3) != 0
        || safe_read(&tag, tags + vm.array_u1_data + name_index, 1) != 0 || tag != JVM_CONSTANT_UTF8
        || (!slot_read && read_ptr(cp + (uintptr_t)slot, &name) != 0)) {
        return -1;
    }
    size_t pos = 0;
    out[0] = '\0';
    if (append_symbol(span_ptr(&vm.klass_span, klass_bytes, vm.klass_name), out, out_len, &pos, 1) != 0
        || pos + 2 > out_len) {
        return -1;
    }
    out[pos++] = '.';
    out[pos] = '\0';
    if (append_symbol(name, out, out_len, &pos, 0) != 0) {
        return -1;
    }
    if (facts != NULL) {
        facts->code_size = span_u16(&vm.const_method_span, cm_bytes, vm.const_method_code_size);
        facts->jmethod_id = vm.ik_jmethod_ids >= 0
                                ? cached_jmethod_id(span_ptr(&vm.klass_span, klass_bytes, vm.ik_jmethod_ids),
                                                    span_u16(&vm.const_method_span, cm_bytes, vm.const_method_idnum))
                                : 0;
    }
    return (int)pos;
}

int vmstructs_describe_method(uintptr_t method, char *out, size_t out_len, struct vm_method *facts) {
    return describe(method, out, out_len, facts, 0);
}

int vmstructs_describe_compiled_method(uintptr_t method, char *out, size_t out_len, struct vm_method *facts) {
    return describe(method, out, out_len, facts, 1);
}

int vmstructs_resolve_method(uintptr_t method, char *out, size_t out_len) {
    return vmstructs_describe_method(method, out, out_len, NULL);
}

int vmstructs_field(const char *type, const char *field, long *offset, uintptr_t *address) {
    return ready() ? find_field(&fields, type, field, offset, address) : -1;
}

int vmstructs_type_size(const char *type, long *size) {
    return ready() ? find_type_size(&types, type, size) : -1;
}

int vmstructs_int_constant(const char *name, int32_t *value) {
    if (!ready() || int_constants.base == 0) {
        return -1;
    }
    uintptr_t entry = find_entry(&int_constants, name, NULL);
    return entry != 0 ? safe_read(value, entry + int_constants.offset, sizeof(*value)) : -1;
}

int vmstructs_set_default_bool_flag(const char *name, int value, char *why, size_t why_len) {
    long name_off = 0, addr_off = 0, flags_off = 0, entry_size = 0, flags_size = 0;
    uintptr_t table_at = 0, count_at = 0, table = 0;
    uint64_t count = 0;
    int32_t origin_mask = 0, ergonomic = 0;
    if (!ready() || find_field(&fields, "JVMFlag", "_name", &name_off, NULL) != 0
        || find_field(&fields, "JVMFlag", "_addr", &addr_off, NULL) != 0
        || find_field(&fields, "JVMFlag", "_flags", &flags_off, NULL) != 0
        || find_field(&fields, "JVMFlag", "flags", NULL, &table_at) != 0
        || find_field(&fields, "JVMFlag", "numFlags", NULL, &count_at) != 0
        || find_type_size(&types, "JVMFlag", &entry_size) != 0
        || vmstructs_int_constant("JVMFlag::VALUE_ORIGIN_MASK", &origin_mask) != 0
        || vmstructs_int_constant("JVMFlagOrigin::ERGONOMIC", &ergonomic) != 0) {
        snprintf(why, why_len, "VMStructs has no JVMFlag table");
        return -1;
    }
    /* The origin is a bit field of Flags, an enum: its width decides how it is read and written back. */
    if (find_type_size(&types, "JVMFlag::Flags", &flags_size) != 0 || flags_size != (long)sizeof(uint32_t)
        || entry_size <= 0 || entry_size > 256 || name_off + 8 > entry_size || addr_off + 8 > entry_size
        || flags_off + 4 > entry_size || (flags_off & 3) != 0 || (ergonomic & ~origin_mask) != 0) {
        snprintf(why, why_len, "JVMFlag's layout is not the one expected");
        return -1;
    }
    if (read_ptr(table_at, &table) != 0 || table == 0 || safe_read(&count, count_at, sizeof(count)) != 0
        || count == 0 || count > 100000) {
        snprintf(why, why_len, "the JVM's flag table is unreadable");
        return -1;
    }
    for (uint64_t i = 0; i < count; i++) {
        unsigned char entry[256];
        uintptr_t at = table + (uintptr_t)(i * (uint64_t)entry_size), text = 0, addr = 0;
        char flag_name[64];
        if (safe_read(entry, at, (size_t)entry_size) != 0) {
            break;
        }
        memcpy(&text, entry + name_off, sizeof(text));
        if (text == 0 || read_cstring(text, flag_name, sizeof(flag_name)) != 0 || strcmp(flag_name, name) != 0) {
            continue;
        }
        memcpy(&addr, entry + addr_off, sizeof(addr));
        uint32_t flags = 0;
        uint8_t current = 0;
        memcpy(&flags, entry + flags_off, sizeof(flags));
        if (safe_read(&current, addr, sizeof(current)) != 0) {
            snprintf(why, why_len, "the value of %s is unreadable", name);
            return -1;
        }
        if ((flags & (uint32_t)origin_mask) != 0) {
            return 0;
        }
        /* The value first: a compile that reads both in between sees the new value at its default origin. */
        __atomic_store_n((uint8_t *)addr, (uint8_t)(value != 0), __ATOMIC_RELEASE);
        __atomic_store_n((uint32_t *)(at + (uintptr_t)flags_off),
                         (flags & ~(uint32_t)origin_mask) | (uint32_t)ergonomic, __ATOMIC_RELEASE);
        return 1;
    }
    snprintf(why, why_len, "this JVM has no flag %s", name);
    return -1;
}

int vmstructs_interpreter_range(uintptr_t *start, uintptr_t *end) {
    if (!ready() || vm.interpreter_code == 0) {
        return -1;
    }
    uintptr_t queue = 0, buffer = 0;
    int32_t limit = 0;
    if (read_ptr(vm.interpreter_code, &queue) != 0 || queue == 0
        || read_ptr(queue + vm.stubq_buffer, &buffer) != 0 || buffer == 0
        || safe_read(&limit, queue + vm.stubq_limit, sizeof(limit)) != 0 || limit <= 0) {
        return -1;
    }
    *start = buffer;
    *end = buffer + (uintptr_t)limit;
    return 0;
}
