/*
 * Scopes of a return address in JIT-compiled code, from the nmethod itself (see jvm_nmethod.h for why):
 *
 *   nmethod    found through the code heap's segment map (jvm_frame_walk_nmethod); its header gives the Method*, the
 *              start of its code, and where its PcDesc table, scopes data and metadata table are. JDK 17 keeps all
 *              three inside the nmethod (offsets from it, CompiledMethod::_scopes_data_begin); JDK 25 keeps the first
 *              two in immutable data on the C heap (nmethod::_immutable_data + offsets) and the metadata after the
 *              relocations in mutable data (CodeBlob::_mutable_data + _relocation_size). Both are read by name here.
 *   PcDesc     {pc_offset, scope_decode_offset, ...}, sorted by pc_offset. A return address is where HotSpot records
 *              the descriptor of a call, with its full scopes: the first descriptor at or after the address is it.
 *   scope      at scopes data + decode offset, a compressed stream: the sender's decode offset (0: none, this is
 *              the outermost), the method (an index into the metadata table, 1-based), the bytecode index + 1.
 *              JDK 17 writes HotSpot's old variable-length ints (high bytes 192..255); JDK 21 on writes UNSIGNED5
 *              (bytes shifted by one so that 0 never occurs, which later JDKs use to mark a run of zero ints).
 *
 * An nmethod can be flushed at any time and its memory reused: everything but the code heap look-up is read through
 * safe_read, every offset is checked against the part it must lie in, the outermost scope must be the nmethod's own
 * method, and the nmethod's compile id is read again at the end: what changed meanwhile is refused.
 */
#define _GNU_SOURCE
#include "jvm_nmethod.h"

#include "jvm_frame_walk.h"
#include "jvm_vmstructs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_SCOPES 64
#define MAX_TABLE (64u << 20)
#define WHOLE_TABLE 4096 /* PcDesc tables up to this many bytes are read at once, larger ones searched entry by entry */

static struct {
    int ready;
    char error[200];
    int immutable; /* JDK 25's layout: immutable and mutable data apart from the nmethod */
    int unsigned5; /* UNSIGNED5 streams (JDK 21 on) */
    long header;   /* bytes of the nmethod header read at once (sizeof(nmethod)) */
    long method, compile_id;
    long code_begin, code_end;          /* JDK 17: addresses; JDK 25: int offsets from the blob */
    long pcs, pcs_end;                  /* int offsets: from the blob (17) or the immutable data (25) */
    long scopes;                        /* JDK 17: address; JDK 25: int offset into immutable data */
    long metadata;                      /* JDK 17: int offset from the blob */
    long immutable_data, immutable_size; /* JDK 25 */
    long mutable_data, mutable_size, relocation_size; /* JDK 25 */
    long pc_offset, scope_offset, pc_desc_size;
} n;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static int init_fail(const char *what) {
    snprintf(n.error, sizeof(n.error), "%s", what);
    n.ready = -1;
    return -1;
}

static int check_stream_format(void);

static int field(const char *type, const char *name, long *offset) {
    return vmstructs_field(type, name, offset, NULL);
}

static int do_init(JNIEnv *env) {
    (void)env;
    uintptr_t major_at = 0;
    int32_t major = 0;
    if (vmstructs_field("Abstract_VM_Version", "_vm_major_version", NULL, &major_at) != 0
        || safe_read(&major, major_at, sizeof(major)) != 0 || major < 17) {
        return init_fail("the JVM's version is unknown");
    }
    n.unsigned5 = major >= 21;
    if (field("nmethod", "_method", &n.method) != 0 && field("CompiledMethod", "_method", &n.method) != 0) {
        return init_fail("VMStructs has no nmethod::_method");
    }
    if (field("nmethod", "_compile_id", &n.compile_id) != 0 || field("nmethod", "_scopes_pcs_offset", &n.pcs) != 0
        || field("PcDesc", "_pc_offset", &n.pc_offset) != 0
        || field("PcDesc", "_scope_decode_offset", &n.scope_offset) != 0
        || vmstructs_type_size("PcDesc", &n.pc_desc_size) != 0 || n.pc_desc_size < 8
        || vmstructs_type_size("nmethod", &n.header) != 0 || n.header <= 0 || n.header > 4096) {
        return init_fail("VMStructs has no nmethod scopes (PcDesc, _scopes_pcs_offset)");
    }
    if (field("nmethod", "_immutable_data", &n.immutable_data) == 0) {
        n.immutable = 1;
        if (field("nmethod", "_immutable_data_size", &n.immutable_size) != 0
            || field("nmethod", "_scopes_data_offset", &n.pcs_end) != 0
            || field("CodeBlob", "_mutable_data", &n.mutable_data) != 0
            || field("CodeBlob", "_mutable_data_size", &n.mutable_size) != 0
            || field("CodeBlob", "_relocation_size", &n.relocation_size) != 0
            || field("CodeBlob", "_code_offset", &n.code_begin) != 0
            || field("CodeBlob", "_data_offset", &n.code_end) != 0) {
            return init_fail("VMStructs lacks a field of nmethod's immutable or mutable data");
        }
        n.scopes = n.pcs_end;
    } else if (field("nmethod", "_dependencies_offset", &n.pcs_end) != 0
               || field("nmethod", "_metadata_offset", &n.metadata) != 0
               || field("CompiledMethod", "_scopes_data_begin", &n.scopes) != 0
               || field("CodeBlob", "_code_begin", &n.code_begin) != 0
               || field("CodeBlob", "_code_end", &n.code_end) != 0) {
        return init_fail("VMStructs lacks a field of nmethod's debug information");
    }
    const long fields[] = {n.method, n.compile_id, n.code_begin, n.code_end, n.pcs, n.pcs_end, n.scopes,
                           n.metadata, n.immutable_data, n.immutable_size, n.mutable_data, n.mutable_size,
                           n.relocation_size};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i] < 0 || fields[i] + 8 > n.header) {
            return init_fail("nmethod's fields are not where expected");
        }
    }
    n.ready = 1;
    if (check_stream_format() != 0) {
        return init_fail("the debug information of compiled code reads in neither known format");
    }
    return 0;
}

int jvm_nmethod_init(JNIEnv *env, char *err, size_t err_len) {
    if (jvm_frame_walk_init(env, err, err_len) != 0) {
        return -1;
    }
    return vmstructs_init_once(&init_lock, &n.ready, do_init, env, n.error, err, err_len);
}

static int ready(void) {
    return __atomic_load_n(&n.ready, __ATOMIC_ACQUIRE) == 1;
}

static int32_t i32_at(const unsigned char *header, long offset) {
    int32_t v;
    memcpy(&v, header + offset, sizeof(v));
    return v;
}

static uintptr_t ptr_at(const unsigned char *header, long offset) {
    uintptr_t v;
    memcpy(&v, header + offset, sizeof(v));
    return v;
}

/* The parts of an nmethod the scopes are read from, [begin, end) each. */
struct layout {
    uintptr_t code, code_end;
    uintptr_t pcs, pcs_end;
    uintptr_t scopes, scopes_end;
    uintptr_t metadata, metadata_end;
};

/*
 * Reads the nmethod's header and where its parts are; -1 when they do not hold together. Of a native wrapper, which
 * has no debug information (JDK 25 gives it no immutable data), only its code.
 */
static int read_layout(uintptr_t blob, int native, unsigned char *header, struct layout *l) {
    if (safe_read(header, blob, (size_t)n.header) != 0) {
        return -1;
    }
    if (native) {
        memset(l, 0, sizeof(*l));
        l->code = n.immutable ? blob + (uintptr_t)(uint32_t)i32_at(header, n.code_begin) : ptr_at(header, n.code_begin);
        l->code_end = n.immutable ? blob + (uintptr_t)(uint32_t)i32_at(header, n.code_end) : ptr_at(header, n.code_end);
    } else if (n.immutable) {
        uintptr_t immutable = ptr_at(header, n.immutable_data), mutable = ptr_at(header, n.mutable_data);
        int32_t immutable_size = i32_at(header, n.immutable_size), pcs = i32_at(header, n.pcs);
        int32_t scopes = i32_at(header, n.scopes), mutable_size = i32_at(header, n.mutable_size);
        int32_t relocations = i32_at(header, n.relocation_size);
        if (immutable == 0 || immutable_size <= 0 || pcs < 0 || scopes < pcs || scopes > immutable_size
            || mutable_size < 0 || relocations < 0 || relocations > mutable_size) {
            return -1;
        }
        l->code = blob + (uintptr_t)(uint32_t)i32_at(header, n.code_begin);
        l->code_end = blob + (uintptr_t)(uint32_t)i32_at(header, n.code_end);
        l->pcs = immutable + (uintptr_t)pcs;
        l->pcs_end = immutable + (uintptr_t)scopes;
        l->scopes = l->pcs_end;
        l->scopes_end = immutable + (uintptr_t)immutable_size;
        l->metadata = mutable + (uintptr_t)relocations;
        l->metadata_end = mutable + (uintptr_t)mutable_size;
    } else {
        int32_t pcs = i32_at(header, n.pcs), pcs_end = i32_at(header, n.pcs_end);
        int32_t metadata = i32_at(header, n.metadata);
        if (pcs <= 0 || pcs_end < pcs || metadata <= 0) {
            return -1;
        }
        l->code = ptr_at(header, n.code_begin);
        l->code_end = ptr_at(header, n.code_end);
        l->pcs = blob + (uintptr_t)pcs;
        l->pcs_end = blob + (uintptr_t)pcs_end;
        l->scopes = ptr_at(header, n.scopes);
        l->scopes_end = l->pcs;
        l->metadata = blob + (uintptr_t)metadata;
        l->metadata_end = l->scopes;
    }
    if (l->code < blob || l->code_end < l->code || l->pcs_end - l->pcs > MAX_TABLE
        || (l->pcs_end - l->pcs) % (uintptr_t)n.pc_desc_size != 0 || l->scopes > l->scopes_end
        || l->scopes_end - l->scopes > MAX_TABLE || l->metadata > l->metadata_end
        || l->metadata_end - l->metadata > MAX_TABLE) {
        return -1;
    }
    return 0;
}

/* A compressed stream of ints in the scopes data. */
struct stream {
    unsigned char bytes[24];
    size_t len, pos;
    int zeroes; /* ints left of a run of zeroes (UNSIGNED5 streams) */
};

static int read_int(struct stream *s, uint32_t *out) {
    const uint32_t x = n.unsigned5 ? 1 : 0, low = 256 - 64 - x;
    if (s->zeroes > 0) {
        s->zeroes--;
        *out = 0;
        return 0;
    }
    if (s->pos >= s->len) {
        return -1;
    }
    if (x == 1 && s->bytes[s->pos] == 0) {
        /* A run of zero ints: 0, then how many. */
        if (s->pos + 1 >= s->len || s->bytes[s->pos + 1] == 0) {
            return -1;
        }
        s->zeroes = s->bytes[s->pos + 1] - 1;
        s->pos += 2;
        *out = 0;
        return 0;
    }
    uint32_t sum = 0;
    for (int i = 0, shift = 0; i < 5; i++, shift += 6) {
        if (s->pos >= s->len || s->bytes[s->pos] < x) {
            return -1;
        }
        uint32_t b = s->bytes[s->pos++];
        sum += (b - x) << shift;
        if (b < x + low || i == 4) {
            *out = sum;
            return 0;
        }
    }
    return -1;
}

/* The descriptor of the first pc_offset at or after offset; its scope decode offset in *scope. -1 when none. */
static int find_pc_desc(const struct layout *l, int32_t offset, int32_t *scope) {
    size_t size = (size_t)n.pc_desc_size, count = (l->pcs_end - l->pcs) / size;
    unsigned char table[WHOLE_TABLE];
    int whole = count * size <= sizeof(table) && safe_read(table, l->pcs, count * size) == 0;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        unsigned char entry[64];
        int32_t at;
        if (whole) {
            memcpy(&at, table + mid * size + n.pc_offset, sizeof(at));
        } else if (size > sizeof(entry) || safe_read(entry, l->pcs + mid * size, size) != 0) {
            return -1;
        } else {
            memcpy(&at, entry + n.pc_offset, sizeof(at));
        }
        if (at < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo >= count) {
        return -1;
    }
    if (whole) {
        memcpy(scope, table + lo * size + n.scope_offset, sizeof(*scope));
        return 0;
    }
    return safe_read(scope, l->pcs + lo * size + (uintptr_t)n.scope_offset, sizeof(*scope));
}

int jvm_nmethod_scopes(uintptr_t pc, struct nmethod_scope *out, int max, struct nmethod_ref *ref) {
    int kind = 0;
    unsigned char header[4096];
    struct layout l;
    if (!ready() || max <= 0) {
        return -1;
    }
    ref->blob = jvm_frame_walk_nmethod(pc, &kind, &ref->compile_id, &ref->mark);
    if (ref->blob == 0 || read_layout(ref->blob, kind == JVM_NMETHOD_NATIVE, header, &l) != 0
        || i32_at(header, n.compile_id) != ref->compile_id
        || pc < l.code || pc > l.code_end) {
        return -1;
    }
    ref->method = ptr_at(header, n.method);
    ref->native = kind == JVM_NMETHOD_NATIVE;
    if (ref->method == 0 || (ref->method & 7) != 0) {
        return -1;
    }
    int32_t decode = 0;
    int count = 0;
    if (!ref->native && find_pc_desc(&l, (int32_t)(pc - l.code), &decode) == 0) {
        uintptr_t outermost = 0;
        int32_t previous = INT32_MAX;
        /* Each sender was written before the scope that names it: offsets fall, the walk ends. */
        while (decode > 0 && decode < previous && count < max && count < MAX_SCOPES) {
            struct stream s = {.len = sizeof(s.bytes), .pos = 0, .zeroes = 0};
            uintptr_t at = l.scopes + (uintptr_t)decode;
            uint32_t sender = 0, index = 0, bci = 0;
            uintptr_t method = 0;
            if (at >= l.scopes_end) {
                return -1;
            }
            if (s.len > l.scopes_end - at) {
                s.len = l.scopes_end - at;
            }
            if (safe_read(s.bytes, at, s.len) != 0 || read_int(&s, &sender) != 0 || read_int(&s, &index) != 0
                || read_int(&s, &bci) != 0 || index == 0
                || l.metadata + (uintptr_t)index * sizeof(uintptr_t) > l.metadata_end
                || safe_read(&method, l.metadata + (uintptr_t)(index - 1) * sizeof(uintptr_t), sizeof(method)) != 0
                || method == 0 || (method & 7) != 0 || sender > INT32_MAX) {
                return -1;
            }
            out[count].method = method;
            out[count].bci = (int32_t)bci - 1;
            count++;
            outermost = method;
            previous = decode;
            decode = (int32_t)sender;
        }
        /* Not at the outermost scope (too deep, or a loop), or another method than the nmethod's: not believed. */
        if (count > 0 && (decode != 0 || outermost != ref->method)) {
            return -1;
        }
    }
    /* The nmethod may have been flushed while it was read. */
    int32_t again = 0;
    if (jvm_frame_walk_nmethod(pc, NULL, &again, NULL) != ref->blob || again != ref->compile_id) {
        return -1;
    }
    return count;
}

/*
 * The stream format follows the JDK's version (UNSIGNED5 from 21); checked on compiled code already there: the scopes
 * of the first descriptor with any, in the first few nmethods, must read back to the nmethod's own method. Where the
 * version's format does not, the other is tried; where neither does, compiled frames are not named from nmethods.
 * No compiled code yet: the version's format is trusted (every lookup checks the same all the same).
 */
struct format_check {
    int seen, agreed;
};

static int check_one(uintptr_t blob, int kind, void *context) {
    struct format_check *c = context;
    unsigned char header[4096];
    struct layout l;
    if (kind != JVM_NMETHOD_JAVA || read_layout(blob, 0, header, &l) != 0) {
        return 0;
    }
    size_t size = (size_t)n.pc_desc_size, count = (l.pcs_end - l.pcs) / size;
    for (size_t i = 0; i < count && i < 64; i++) {
        int32_t scope = 0, offset = 0;
        if (safe_read(&scope, l.pcs + i * size + (uintptr_t)n.scope_offset, sizeof(scope)) != 0
            || safe_read(&offset, l.pcs + i * size + (uintptr_t)n.pc_offset, sizeof(offset)) != 0) {
            return 0;
        }
        if (scope > 0 && offset >= 0 && l.code + (uintptr_t)offset <= l.code_end) {
            struct nmethod_scope scopes[MAX_SCOPES];
            struct nmethod_ref ref;
            c->seen++;
            c->agreed += jvm_nmethod_scopes(l.code + (uintptr_t)offset, scopes, MAX_SCOPES, &ref) > 0;
            return c->seen >= 8;
        }
    }
    return 0;
}

static int check_stream_format(void) {
    for (int attempt = 0; attempt < 2; attempt++) {
        struct format_check c = {0, 0};
        jvm_frame_walk_nmethods(check_one, &c);
        if (c.seen == 0 || c.agreed * 2 > c.seen) {
            return 0;
        }
        n.unsigned5 = !n.unsigned5;
    }
    return -1;
}

int jvm_nmethod_alive(const struct nmethod_ref *ref) {
    return ready() && jvm_frame_walk_same_nmethod(ref->blob, ref->compile_id, ref->mark);
}

int jvm_nmethod_ready(void) {
    return ready();
}

struct ranges {
    const char *name;
    uintptr_t *out;
    int max, count;
};

static int add_range_if_named(uintptr_t blob, int kind, void *context) {
    struct ranges *r = context;
    unsigned char header[4096];
    struct layout l;
    char name[1024];
    if (read_layout(blob, kind == JVM_NMETHOD_NATIVE, header, &l) == 0
        && vmstructs_describe_compiled_method(ptr_at(header, n.method), name, sizeof(name), NULL) >= 0
        && strcmp(name, r->name) == 0) {
        r->out[2 * r->count] = l.code;
        r->out[2 * r->count + 1] = l.code_end;
        r->count++;
    }
    return r->count >= r->max;
}

int jvm_nmethod_ranges_of(const char *qualified_name, uintptr_t *out, int max) {
    struct ranges r = {.name = qualified_name, .out = out, .max = max, .count = 0};
    if (!ready() || max <= 0 || jvm_frame_walk_nmethods(add_range_if_named, &r) != 0) {
        return 0;
    }
    return r.count;
}
