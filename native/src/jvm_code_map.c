/*
 * The live code map: which Java method (with its inlined callees and their lines) or which JVM stub occupies
 * an address of generated code. Fed by JVMTI: CompiledMethodLoad / CompiledMethodUnload / DynamicCodeGenerated,
 * with GenerateEvents replaying the code that existed before the map started.
 *
 * Where the map's memory comes from: an mmap_arena, never malloc (mmap_arena.h says why). The two ways to keep
 * the JVMTI callbacks' work out of the report were a raw-event ring drained by the reporter, or keeping the map here
 * in mapped memory. This file does the latter: names must be taken while the method is alive (a jmethodID of an
 * unloaded class names nothing any more, so a ring drained seconds later would lose exactly the code that
 * churns), and resolving here keeps the Java side to a single lookup call. What lives forever (interned names,
 * method descriptions) comes from the arena's bump allocator, the per-nmethod PC tables from its blocks (given back
 * when code is unloaded), the tables from its growable arrays. The only mallocs left are temporary pairs:
 * the strings and line tables JVMTI allocates for us, deallocated before the callback returns.
 *
 * Concurrency: one mutex guards all of it; events come on several threads at once and lookups on the reporter.
 * No JVMTI call is made while it is held. Names handed out (struct code_frame) point into the arena, which is
 * never unmapped, so they stay valid without the lock.
 *
 * Where VMStructs allows (jvm_nmethod.c), compiled code is not taken from CompiledMethodLoad at all: a lookup reads
 * the scopes of the address from the nmethod that holds it, and the events (and their replay at start) stay off.
 * While they are on, HotSpot records debug information at non-safepoints in every compile for them (unless the
 * flag DebugNonSafepoints was set), and the service thread builds each event's inlining records: both cost the
 * application CPU for names that are needed only at return addresses, where the nmethod always has them. Without
 * unload events, names handed out stay right while their nmethods are alive: the generation (which tells the Java
 * side's cache) moves when one of the nmethods named since it last moved is gone (see vm_generation).
 *
 * Unload events are delivered late (deferred to the service thread), so the code cache can already hold new
 * code at an address whose unload is still in flight. Rules: a load at the start address of a live record
 * replaces it (newest wins) and, if it is the same method, remembers that one unload for that address and
 * method is still due to the old record; live records overlapping a newer one are dropped when the sorted
 * index is rebuilt; an unload removes a record only if the method matches and no older unload is due.
 */
#define _GNU_SOURCE
#include "jvm_code_map.h"

#include "jvm_nmethod.h"
#include "jvm_vmstructs.h"

#include <jvmti.h>
#include <jvmticmlr.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mmap_arena.h"
#include "string_table.h"

#define NONE UINT32_MAX

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
/* All the map's memory (see mmap_arena.h), and its names. */
static struct mmap_arena arena;
static struct string_table names = {.arena = &arena};

static uint64_t hash64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* ---------------------------------------------------------------------------------------------------------
 * Methods, by jmethodID (insert only: HotSpot does not hand out a jmethodID again for another method).
 */
struct method_info {
    jmethodID id;
    const char *class_name;  /* "pkg.Class" */
    const char *name;
    const char *source_file;  /* NULL when unknown */
    int is_native;
    uint32_t line_count;
    struct line_entry *lines;
};

struct ptr_slot {
    uintptr_t key;
    struct method_info *value;
};
static struct ptr_slot *methods;
static uint32_t methods_cap, methods_count;

static struct method_info *methods_find(jmethodID id) {
    if (methods_cap == 0) {
        return NULL;
    }
    uint32_t j = (uint32_t)hash64((uintptr_t)id) & (methods_cap - 1);
    while (methods[j].key != 0) {
        if (methods[j].key == (uintptr_t)id) {
            return methods[j].value;
        }
        j = (j + 1) & (methods_cap - 1);
    }
    return NULL;
}

static int methods_insert(struct method_info *info) {
    if ((methods_count + 1) * 2 > methods_cap) {
        uint32_t cap = methods_cap == 0 ? 4096 : methods_cap * 2;
        struct ptr_slot *fresh = mmap_arena_map(&arena, mmap_arena_page_round((size_t)cap * sizeof(*fresh)));
        if (fresh == NULL) {
            return -1;
        }
        for (uint32_t i = 0; i < methods_cap; i++) {
            if (methods[i].key != 0) {
                uint32_t j = (uint32_t)hash64(methods[i].key) & (cap - 1);
                while (fresh[j].key != 0) {
                    j = (j + 1) & (cap - 1);
                }
                fresh[j] = methods[i];
            }
        }
        mmap_arena_unmap(&arena, methods, mmap_arena_page_round((size_t)methods_cap * sizeof(*methods)));
        methods = fresh;
        methods_cap = cap;
    }
    uint32_t j = (uint32_t)hash64((uintptr_t)info->id) & (methods_cap - 1);
    while (methods[j].key != 0) {
        j = (j + 1) & (methods_cap - 1);
    }
    methods[j].key = (uintptr_t)info->id;
    methods[j].value = info;
    methods_count++;
    return 0;
}

static int line_of(const struct method_info *m, int32_t bci) {
    if (m == NULL || bci < 0) {
        return -1;
    }
    int best = -1;
    int32_t best_bci = -1;
    for (uint32_t i = 0; i < m->line_count; i++) {
        if (m->lines[i].bci <= bci && m->lines[i].bci >= best_bci) {
            best_bci = m->lines[i].bci;
            best = m->lines[i].line;
        }
    }
    return best;
}

/* ---------------------------------------------------------------------------------------------------------
 * Compiled methods: records, an address hash (start -> record) and a sorted index rebuilt when dirty.
 */
struct pc_entry {
    uint32_t pc_offset;  /* from the code start */
    uint32_t first;      /* index of the innermost frame in the frame array */
    uint32_t depth;
};

struct inl_frame {
    const struct method_info *method;
    int32_t line;
};

struct nm {
    uintptr_t start, end;
    uint64_t seq;
    jmethodID id;
    const struct method_info *method;
    void *block;          /* struct pc_entry[pc_count], then struct inl_frame[] (pool memory) */
    uint32_t pc_count;
    uint32_t pending_unloads;
    uint32_t next_free;
    uint8_t live;
};
static struct nm *nms;
static uint32_t nms_cap, nms_used, nms_free = NONE, nms_live;

struct addr_slot {
    uintptr_t key;
    uint32_t index;
};
static struct addr_slot *by_start;
static uint32_t by_start_cap, by_start_count;

static uint32_t *sorted;
static uint32_t sorted_cap, sorted_count;
static int sorted_dirty;
/* The newest record's seq when the index was built; records loaded since, sorted before they are merged in. */
static uint64_t sorted_seq;
static uint32_t *fresh;
static uint32_t fresh_cap;

struct stub {
    uintptr_t start, end;
    const char *name;
};
static struct stub *stubs;
static uint32_t stubs_cap, stubs_count;
static uintptr_t interpreter_start, interpreter_end;

static uint64_t load_seq, loads_seen, unloads_seen, generation;
/* Garbage collections finished since the map started; -1 while the event is off (see jvm_code_map_gc_count). */
static int64_t gc_finished = -1;
static int replaying;

static uint32_t by_start_find(uintptr_t start) {
    if (by_start_cap == 0) {
        return NONE;
    }
    uint32_t j = (uint32_t)hash64(start) & (by_start_cap - 1);
    while (by_start[j].key != 0) {
        if (by_start[j].key == start) {
            return by_start[j].index;
        }
        j = (j + 1) & (by_start_cap - 1);
    }
    return NONE;
}

static int by_start_put(uintptr_t start, uint32_t index) {
    if ((by_start_count + 1) * 2 > by_start_cap) {
        uint32_t cap = by_start_cap == 0 ? 4096 : by_start_cap * 2;
        struct addr_slot *fresh = mmap_arena_map(&arena, mmap_arena_page_round((size_t)cap * sizeof(*fresh)));
        if (fresh == NULL) {
            return -1;
        }
        for (uint32_t i = 0; i < by_start_cap; i++) {
            if (by_start[i].key != 0) {
                uint32_t j = (uint32_t)hash64(by_start[i].key) & (cap - 1);
                while (fresh[j].key != 0) {
                    j = (j + 1) & (cap - 1);
                }
                fresh[j] = by_start[i];
            }
        }
        mmap_arena_unmap(&arena, by_start, mmap_arena_page_round((size_t)by_start_cap * sizeof(*by_start)));
        by_start = fresh;
        by_start_cap = cap;
    }
    uint32_t j = (uint32_t)hash64(start) & (by_start_cap - 1);
    while (by_start[j].key != 0 && by_start[j].key != start) {
        j = (j + 1) & (by_start_cap - 1);
    }
    if (by_start[j].key == 0) {
        by_start_count++;
    }
    by_start[j].key = start;
    by_start[j].index = index;
    return 0;
}

/* Linear probing deletion with backward shift (no tombstones). */
static void by_start_remove(uintptr_t start) {
    if (by_start_cap == 0) {
        return;
    }
    uint32_t mask = by_start_cap - 1;
    uint32_t j = (uint32_t)hash64(start) & mask;
    while (by_start[j].key != start) {
        if (by_start[j].key == 0) {
            return;
        }
        j = (j + 1) & mask;
    }
    by_start[j].key = 0;
    by_start_count--;
    uint32_t hole = j;
    for (uint32_t k = (j + 1) & mask; by_start[k].key != 0; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)hash64(by_start[k].key) & mask;
        /* Move k into the hole unless its home lies cyclically in (hole, k]. */
        int stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!stays) {
            by_start[hole] = by_start[k];
            by_start[k].key = 0;
            hole = k;
        }
    }
}

static void nm_kill(uint32_t index) {
    struct nm *r = &nms[index];
    if (!r->live) {
        return;
    }
    if (by_start_find(r->start) == index) {
        by_start_remove(r->start);
    }
    mmap_arena_free_block(&arena, r->block);
    r->block = NULL;
    r->live = 0;
    r->next_free = nms_free;
    nms_free = index;
    nms_live--;
    sorted_dirty = 1;
    generation++;
}

static int nm_less(uint32_t a, uint32_t b) {
    if (nms[a].start != nms[b].start) {
        return nms[a].start < nms[b].start;
    }
    return nms[a].seq < nms[b].seq;
}

static void sift_down_idx(uint32_t *a, uint32_t root, uint32_t n) {
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n) {
            return;
        }
        if (child + 1 < n && nm_less(a[child], a[child + 1])) {
            child++;
        }
        if (!nm_less(a[root], a[child])) {
            return;
        }
        uint32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

/*
 * Brings the sorted index up to date. Lookups come between loads while the JIT is busy (a report at exit, while
 * the compilers still run), so the index is not sorted afresh each time: the records it holds stay in order, those
 * loaded since it was built (a few) are sorted apart and merged in. A record is in the index when it was loaded by
 * the time the index was built (its seq at most sorted_seq): an index freed and reused since holds a newer record,
 * which counts as new.
 */
static void rebuild_sorted(void) {
    uint32_t fresh_count = 0;
    for (uint32_t i = 0; i < nms_used; i++) {
        fresh_count += nms[i].live && nms[i].seq > sorted_seq;
    }
    if (mmap_arena_grow(&arena, (void **)&sorted, &sorted_cap, sizeof(uint32_t), nms_live + 1) != 0
        || mmap_arena_grow(&arena, (void **)&fresh, &fresh_cap, sizeof(uint32_t), fresh_count + 1) != 0) {
        return;  /* keep the old index: lookups may miss newer code, never crash */
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < sorted_count; i++) {
        uint32_t index = sorted[i];
        if (nms[index].live && nms[index].seq <= sorted_seq) {
            sorted[kept++] = index;
        }
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < nms_used; i++) {
        if (nms[i].live && nms[i].seq > sorted_seq) {
            fresh[n++] = i;
        }
    }
    /* heapsort: no malloc, O(n log n) */
    for (uint32_t i = n / 2; i-- > 0;) {
        sift_down_idx(fresh, i, n);
    }
    for (uint32_t end = n; end-- > 1;) {
        uint32_t t = fresh[0];
        fresh[0] = fresh[end];
        fresh[end] = t;
        sift_down_idx(fresh, 0, end);
    }
    /* Merged from the back, in place: the kept records are at the front of sorted, which has room for all. */
    uint32_t a = kept, b = n, total = kept + n;
    while (b > 0) {
        if (a > 0 && nm_less(fresh[b - 1], sorted[a - 1])) {
            sorted[--total] = sorted[--a];
        } else {
            sorted[--total] = fresh[--b];
        }
    }
    n = kept + n;
    sorted_seq = load_seq;
    /* Overlapping live records: the space of the older was reused, its unload has not arrived yet. */
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cur = sorted[i];
        if (out > 0 && nms[sorted[out - 1]].end > nms[cur].start) {
            uint32_t prev = sorted[out - 1];
            if (nms[cur].seq > nms[prev].seq) {
                nm_kill(prev);
                sorted[out - 1] = cur;
            } else {
                nm_kill(cur);
            }
            continue;
        }
        sorted[out++] = cur;
    }
    sorted_count = out;
    sorted_dirty = 0;
}

static int nm_find_containing(uintptr_t pc) {
    if (sorted_dirty) {
        rebuild_sorted();
    }
    uint32_t lo = 0, hi = sorted_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (nms[sorted[mid]].start <= pc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return -1;
    }
    uint32_t index = sorted[lo - 1];
    return nms[index].live && pc < nms[index].end ? (int)index : -1;
}

/* ---------------------------------------------------------------------------------------------------------
 * JVMTI side.
 */
static jvmtiEnv *jvmti;
static JavaVM *java_vm;
static int started;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Class signature "Lpkg/Class;" to "pkg.Class", in place. */
static size_t java_class_name(char *sig) {
    size_t len = strlen(sig);
    char *s = sig;
    if (len >= 2 && s[0] == 'L' && s[len - 1] == ';') {
        s++;
        len -= 2;
    }
    for (size_t i = 0; i < len; i++) {
        sig[i] = s[i] == '/' ? '.' : s[i];
    }
    sig[len] = '\0';
    return len;
}

/* The description of a method, from the cache or from JVMTI (outside the lock). NULL when JVMTI cannot tell. */
static const struct method_info *method_info_for(jvmtiEnv *env, jmethodID id) {
    if (id == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&map_lock);
    const struct method_info *known = methods_find(id);
    pthread_mutex_unlock(&map_lock);
    if (known != NULL) {
        return known;
    }
    char *name = NULL, *signature = NULL, *source = NULL;
    jboolean is_native = JNI_FALSE;
    jclass holder = NULL;
    jint line_count = 0;
    jvmtiLineNumberEntry *lines = NULL;
    if ((*env)->GetMethodName(env, id, &name, NULL, NULL) != JVMTI_ERROR_NONE) {
        return NULL;
    }
    if ((*env)->GetMethodDeclaringClass(env, id, &holder) == JVMTI_ERROR_NONE && holder != NULL) {
        if ((*env)->GetClassSignature(env, holder, &signature, NULL) != JVMTI_ERROR_NONE) {
            signature = NULL;
        }
        if ((*env)->GetSourceFileName(env, holder, &source) != JVMTI_ERROR_NONE) {
            source = NULL;
        }
    }
    if ((*env)->IsMethodNative(env, id, &is_native) != JVMTI_ERROR_NONE) {
        is_native = JNI_FALSE;
    }
    if ((*env)->GetLineNumberTable(env, id, &line_count, &lines) != JVMTI_ERROR_NONE) {
        line_count = 0;
        lines = NULL;
    }
    size_t class_len = signature != NULL ? java_class_name(signature) : 0;

    pthread_mutex_lock(&map_lock);
    struct method_info *info = methods_find(id);
    if (info == NULL) {
        info = mmap_arena_alloc(&arena, sizeof(*info));
        struct line_entry *copy = line_count > 0 ? mmap_arena_alloc(&arena, (size_t)line_count * sizeof(*copy)) : NULL;
        if (info != NULL) {
            info->id = id;
            info->class_name = signature != NULL ? string_table_intern(&names, signature, class_len)
                                                 : string_table_intern(&names, "[unknown class]", 15);
            info->name = string_table_intern(&names, name, strlen(name));
            info->source_file = source != NULL ? string_table_intern(&names, source, strlen(source)) : NULL;
            info->is_native = is_native == JNI_TRUE;
            info->line_count = copy != NULL ? (uint32_t)line_count : 0;
            info->lines = copy;
            for (uint32_t i = 0; i < info->line_count; i++) {
                copy[i].bci = (int32_t)lines[i].start_location;
                copy[i].line = lines[i].line_number;
            }
            if (info->class_name == NULL || info->name == NULL || methods_insert(info) != 0) {
                info = NULL;  /* out of memory for the map: the arena bytes are lost, nothing else */
            }
        }
    }
    pthread_mutex_unlock(&map_lock);

    (*env)->Deallocate(env, (unsigned char *)name);
    if (signature != NULL) {
        (*env)->Deallocate(env, (unsigned char *)signature);
    }
    if (source != NULL) {
        (*env)->Deallocate(env, (unsigned char *)source);
    }
    if (lines != NULL) {
        (*env)->Deallocate(env, (unsigned char *)lines);
    }
    if (holder != NULL && java_vm != NULL) {
        JNIEnv *jni = NULL;
        if ((*java_vm)->GetEnv(java_vm, (void **)&jni, JNI_VERSION_1_6) == JNI_OK && jni != NULL) {
            (*jni)->DeleteLocalRef(jni, holder);
        }
    }
    return info;
}

/*
 * Classes whose methods showed in interpreted frames without a jmethodID yet ("pkg.Class"): the next look-up that
 * needs one asks JVMTI for the jmethodIDs of all of them in one pass over the loaded classes. That pass reads every
 * loaded class's signature; made once per class, it was most of a cold report's time (a report names its stacks
 * first without lines, when the stack trimmer checks them, which gathers the classes). Static memory, as the rest.
 */
#define PENDING_SLOTS 1024
#define PENDING_TEXT (64 * 1024)
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static char pending_text[PENDING_TEXT];
static size_t pending_used;
static const char *pending[PENDING_SLOTS];
static uint32_t pending_count;

/* The slot of class_name in pending, or the free slot where it belongs. Under pending_lock. */
static uint32_t pending_slot(const char *class_name, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)class_name[i]) * 0x100000001b3ULL;
    }
    uint32_t j = (uint32_t)hash64(h) & (PENDING_SLOTS - 1);
    while (pending[j] != NULL && (strncmp(pending[j], class_name, len) != 0 || pending[j][len] != '\0')) {
        j = (j + 1) & (PENDING_SLOTS - 1);
    }
    return j;
}

/* Remembers a class to ask jmethodIDs for; without room left, it is asked for alone when needed. */
static void pending_add(const char *class_name, size_t len) {
    pthread_mutex_lock(&pending_lock);
    if (pending_count < PENDING_SLOTS / 2 && pending_used + len + 1 <= PENDING_TEXT) {
        uint32_t j = pending_slot(class_name, len);
        if (pending[j] == NULL) {
            char *copy = pending_text + pending_used;
            memcpy(copy, class_name, len);
            copy[len] = '\0';
            pending_used += len + 1;
            pending[j] = copy;
            pending_count++;
        }
    }
    pthread_mutex_unlock(&pending_lock);
}

/*
 * Asks JVMTI for the jmethodIDs of every method of the loaded classes named class_name ("pkg.Class") and of those
 * pending, in one pass; the pending ones are then forgotten (asked for, or unloaded since).
 */
static void create_jmethod_ids(JNIEnv *jni, const char *class_name) {
    jint count = 0;
    jclass *classes = NULL;
    if ((*jvmti)->GetLoadedClasses(jvmti, &count, &classes) != JVMTI_ERROR_NONE) {
        return;
    }
    pthread_mutex_lock(&pending_lock);
    for (jint i = 0; i < count; i++) {
        char *signature = NULL;
        if ((*jvmti)->GetClassSignature(jvmti, classes[i], &signature, NULL) == JVMTI_ERROR_NONE) {
            size_t len = java_class_name(signature);
            if (strcmp(signature, class_name) == 0
                || (pending_count > 0 && pending[pending_slot(signature, len)] != NULL)) {
                jint methods_count = 0;
                jmethodID *methods = NULL;
                if ((*jvmti)->GetClassMethods(jvmti, classes[i], &methods_count, &methods) == JVMTI_ERROR_NONE) {
                    (*jvmti)->Deallocate(jvmti, (unsigned char *)methods);
                }
            }
            (*jvmti)->Deallocate(jvmti, (unsigned char *)signature);
        }
        (*jni)->DeleteLocalRef(jni, classes[i]);
    }
    memset(pending, 0, sizeof(pending));
    pending_count = 0;
    pending_used = 0;
    pthread_mutex_unlock(&pending_lock);
    (*jvmti)->Deallocate(jvmti, (unsigned char *)classes);
    safe_read_pass_forget(); /* the classes' jmethodID caches changed: pages read before are stale */
}

int jvm_code_map_interpreted_method(JNIEnv *jni, uintptr_t method, char *name, size_t name_len, int *code_size,
                                    const struct line_entry **lines, uint32_t *line_count) {
    struct vm_method facts;
    int length = vmstructs_describe_method(method, name, name_len, &facts);
    *line_count = 0;
    *code_size = length >= 0 ? facts.code_size : 0;
    if (length >= 0 && jvmti != NULL && facts.code_size > 0 && facts.jmethod_id == 0) {
        pending_add(name, (size_t)(strrchr(name, '.') - name));
    }
    if (lines == NULL) {
        return length;
    }
    *lines = NULL;
    if (length < 0 || jvmti == NULL || facts.code_size <= 0) {
        return length;
    }
    if (facts.jmethod_id == 0) {
        /* Interpreted-only methods seldom have one yet: JVMTI makes them, for the class's methods at once. */
        char *dot = strrchr(name, '.');
        *dot = '\0';
        create_jmethod_ids(jni, name);
        *dot = '.';
        char again[8192];
        if (vmstructs_describe_method(method, again, sizeof(again), &facts) < 0 || facts.jmethod_id == 0) {
            return length;
        }
    }
    const struct method_info *info = method_info_for(jvmti, (jmethodID)facts.jmethod_id);
    if (info != NULL) {
        *lines = info->lines;
        *line_count = info->line_count;
    }
    return length;
}

static void sort_pcs(struct pc_entry *pcs, uint32_t n) {
    int ordered = 1;
    for (uint32_t i = 1; i < n && ordered; i++) {
        ordered = pcs[i - 1].pc_offset <= pcs[i].pc_offset;
    }
    if (ordered) {
        return;
    }
    /* insertion sort on the rare unordered table: n is the number of PC descriptors of one nmethod */
    for (uint32_t i = 1; i < n; i++) {
        struct pc_entry e = pcs[i];
        uint32_t j = i;
        while (j > 0 && pcs[j - 1].pc_offset > e.pc_offset) {
            pcs[j] = pcs[j - 1];
            j--;
        }
        pcs[j] = e;
    }
}

#define MAX_FRAMES_PER_NMETHOD (1u << 22)

static void JNICALL on_compiled_method_load(jvmtiEnv *env, jmethodID method, jint code_size,
                                            const void *code_addr, jint map_length,
                                            const jvmtiAddrLocationMap *map, const void *compile_info) {
    (void)map_length;
    (void)map;
    if (code_addr == NULL || code_size <= 0) {
        return;
    }
    uintptr_t start = (uintptr_t)code_addr, end = start + (uintptr_t)code_size;
    const struct method_info *info = method_info_for(env, method);

    /* Count what the inlining records hold for PCs inside the code. */
    uint32_t pc_count = 0, frame_count = 0;
    for (const jvmtiCompiledMethodLoadRecordHeader *h = compile_info; h != NULL; h = h->next) {
        if (h->kind != JVMTI_CMLR_INLINE_INFO) {
            continue;
        }
        const jvmtiCompiledMethodLoadInlineRecord *r = (const jvmtiCompiledMethodLoadInlineRecord *)h;
        for (jint i = 0; i < r->numpcs && r->pcinfo != NULL; i++) {
            const PCStackInfo *p = &r->pcinfo[i];
            uintptr_t pc = (uintptr_t)p->pc;
            if (pc >= start && pc <= end && p->numstackframes > 0 && p->methods != NULL && p->bcis != NULL
                && frame_count + (uint32_t)p->numstackframes < MAX_FRAMES_PER_NMETHOD) {
                pc_count++;
                frame_count += (uint32_t)p->numstackframes;
            }
        }
    }
    void *block = NULL;
    if (pc_count > 0) {
        pthread_mutex_lock(&map_lock);
        block = mmap_arena_block(&arena, (size_t)pc_count * sizeof(struct pc_entry)
                                         + (size_t)frame_count * sizeof(struct inl_frame));
        pthread_mutex_unlock(&map_lock);
    }
    if (block != NULL) {
        /* Private until published below: filled without the lock (method_info_for takes it briefly). */
        struct pc_entry *pcs = block;
        struct inl_frame *frames = (struct inl_frame *)(pcs + pc_count);
        uint32_t pi = 0, fi = 0;
        for (const jvmtiCompiledMethodLoadRecordHeader *h = compile_info; h != NULL; h = h->next) {
            if (h->kind != JVMTI_CMLR_INLINE_INFO) {
                continue;
            }
            const jvmtiCompiledMethodLoadInlineRecord *r = (const jvmtiCompiledMethodLoadInlineRecord *)h;
            for (jint i = 0; i < r->numpcs && r->pcinfo != NULL && pi < pc_count; i++) {
                const PCStackInfo *p = &r->pcinfo[i];
                uintptr_t pc = (uintptr_t)p->pc;
                if (!(pc >= start && pc <= end && p->numstackframes > 0 && p->methods != NULL && p->bcis != NULL
                      && fi + (uint32_t)p->numstackframes <= frame_count)) {
                    continue;
                }
                pcs[pi].pc_offset = (uint32_t)(pc - start);
                pcs[pi].first = fi;
                pcs[pi].depth = (uint32_t)p->numstackframes;
                for (jint k = 0; k < p->numstackframes; k++) {
                    const struct method_info *m = p->methods[k] == method ? info : method_info_for(env, p->methods[k]);
                    frames[fi].method = m;
                    frames[fi].line = line_of(m, p->bcis[k]);
                    fi++;
                }
                pi++;
            }
        }
        pc_count = pi;
        sort_pcs(pcs, pc_count);
    } else {
        pc_count = 0;
    }

    pthread_mutex_lock(&map_lock);
    loads_seen++;
    uint32_t pending = 0;
    uint32_t old = by_start_find(start);
    if (old != NONE && nms[old].live) {
        int same_method = nms[old].id == method;
        int duplicate = replaying && same_method && nms[old].end == end;
        pending = same_method && !duplicate ? nms[old].pending_unloads + 1 : 0;
        nm_kill(old);
    }
    uint32_t index = nms_free;
    if (index != NONE) {
        nms_free = nms[index].next_free;
    } else if (mmap_arena_grow(&arena, (void **)&nms, &nms_cap, sizeof(struct nm), nms_used + 1) == 0) {
        index = nms_used++;
    }
    if (index != NONE) {
        struct nm *r = &nms[index];
        r->start = start;
        r->end = end;
        r->seq = ++load_seq;
        r->id = method;
        r->method = info;
        r->block = block;
        r->pc_count = pc_count;
        r->pending_unloads = pending;
        r->next_free = NONE;
        r->live = 1;
        nms_live++;
        if (by_start_put(start, index) != 0) {
            nm_kill(index);
        }
        sorted_dirty = 1;
    } else {
        mmap_arena_free_block(&arena, block);
    }
    pthread_mutex_unlock(&map_lock);
}

static void JNICALL on_compiled_method_unload(jvmtiEnv *env, jmethodID method, const void *code_addr) {
    (void)env;
    pthread_mutex_lock(&map_lock);
    unloads_seen++;
    uint32_t index = by_start_find((uintptr_t)code_addr);
    if (index != NONE && nms[index].live && nms[index].id == method) {
        if (nms[index].pending_unloads > 0) {
            nms[index].pending_unloads--;  /* the unload of an older code blob at this address */
        } else {
            nm_kill(index);
        }
    }
    pthread_mutex_unlock(&map_lock);
}

static void JNICALL on_dynamic_code_generated(jvmtiEnv *env, const char *name, const void *address, jint length) {
    (void)env;
    if (name == NULL || address == NULL || length <= 0) {
        return;
    }
    uintptr_t start = (uintptr_t)address, end = start + (uintptr_t)length;
    pthread_mutex_lock(&map_lock);
    const char *interned = string_table_intern(&names, name, strlen(name));
    if (interned != NULL) {
        uint32_t i;
        /* The same stub again (the replay of GenerateEvents): newest name wins. Stubs are few (~1-3k). */
        for (i = 0; i < stubs_count; i++) {
            if (stubs[i].start == start && stubs[i].end == end) {
                stubs[i].name = interned;
                break;
            }
        }
        if (i == stubs_count
                && mmap_arena_grow(&arena, (void **)&stubs, &stubs_cap, sizeof(struct stub), stubs_count + 1) == 0) {
            stubs[stubs_count].start = start;
            stubs[stubs_count].end = end;
            stubs[stubs_count].name = interned;
            stubs_count++;
        }
        if (strcmp(name, "Interpreter") == 0) {
            interpreter_start = start;
            interpreter_end = end;
        }
    }
    pthread_mutex_unlock(&map_lock);
}

static void JNICALL on_garbage_collection_finish(jvmtiEnv *ti) {
    (void)ti;
    /* Only a counter: JNI and most of JVMTI may not be used in this callback. */
    __atomic_fetch_add(&gc_finished, 1, __ATOMIC_RELEASE);
}

int64_t jvm_code_map_gc_count(void) {
    return __atomic_load_n(&gc_finished, __ATOMIC_ACQUIRE);
}

/* How compiled frames are named, for the agent's verbose output. */
static char naming[512];
/* 1: compiled frames are named from their nmethods (jvm_nmethod.c), CompiledMethodLoad is off. */
static int vm_names;

/*
 * The nmethods named since the generation last moved (by their address; the compile id tells a successor at the same
 * address apart). Static memory; under map_lock.
 */
#define NAMED_SLOTS 8192
#define NAMED_MAX (NAMED_SLOTS / 4 * 3)
static struct nmethod_ref named[NAMED_MAX];
static uint32_t named_count;
/* named's indexes + 1 by blob (0: free), to add each nmethod once. */
static uint32_t named_slots[NAMED_SLOTS];

static void named_clear(void) {
    memset(named_slots, 0, sizeof(named_slots));
    named_count = 0;
    generation++;
}

static void named_add(const struct nmethod_ref *ref) {
    uint32_t j = (uint32_t)hash64(ref->blob) & (NAMED_SLOTS - 1);
    while (named_slots[j] != 0) {
        uint32_t i = named_slots[j] - 1;
        if (named[i].blob == ref->blob && named[i].compile_id == ref->compile_id) {
            return;
        }
        j = (j + 1) & (NAMED_SLOTS - 1);
    }
    if (named_count == NAMED_MAX) {
        /* Full: names cached for all of them are dropped (the Java side follows the generation) and it starts over. */
        named_clear();
        j = (uint32_t)hash64(ref->blob) & (NAMED_SLOTS - 1);
    }
    named[named_count] = *ref;
    named_slots[j] = ++named_count;
}

/*
 * The generation while compiled frames are named from nmethods: it moves when an nmethod named since it last moved is
 * no longer where it was (flushed, or its memory holds another compile). A few direct reads per nmethod named, no
 * system call, but the Java side asks for every stack value it checks (tens of thousands per report): the nmethods
 * are looked at again at most every GENERATION_SCAN_NANOS. That is no new staleness: a sampled address already waited
 * seconds for its report, in which its nmethod could have gone unseen. Under map_lock.
 */
#define GENERATION_SCAN_NANOS 10000000ULL
static uint64_t vm_generation(void) {
    static uint64_t last_scan;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    if (last_scan != 0 && now - last_scan < GENERATION_SCAN_NANOS) {
        return generation;
    }
    last_scan = now;
    for (uint32_t i = 0; i < named_count; i++) {
        if (!jvm_nmethod_alive(&named[i])) {
            named_clear();
            break;
        }
    }
    return generation;
}

/*
 * While CompiledMethodLoad is enabled and DebugNonSafepoints is at its default, HotSpot's compilers record debug
 * information at every non-safepoint too, for profilers that name arbitrary PCs: compiles take longer and nmethods
 * grow. This map names return addresses only, where a call's safepoint descriptor always is, so it never
 * needs them: the flag is set off as the agent's ergonomic choice. A flag someone set is left as it is.
 */
static void quiet_non_safepoint_debug_info(const char *vm_why) {
    char why[160];
    int set = vmstructs_set_default_bool_flag("DebugNonSafepoints", 0, why, sizeof(why));
    snprintf(naming, sizeof(naming), "compiled Java frames named from JVMTI CompiledMethodLoad (not from nmethods: "
             "%s); %s", vm_why,
             set > 0    ? "DebugNonSafepoints set off (not needed at call sites)"
             : set == 0 ? "DebugNonSafepoints left as set on the command line"
                        : "DebugNonSafepoints left at its default: ");
    if (set < 0) {
        strncat(naming, why, sizeof(naming) - strlen(naming) - 1);
    }
}

const char *jvm_code_map_naming(void) {
    return naming;
}

int jvm_code_map_start(JNIEnv *env, int jvmti_only, char *err, size_t err_len) {
    pthread_mutex_lock(&start_lock);
    if (started) {
        pthread_mutex_unlock(&start_lock);
        return 0;
    }
    char vm_why[160] = "asked for";
    vm_names = !jvmti_only && jvm_nmethod_init(env, vm_why, sizeof(vm_why)) == 0;
    const char *what = NULL;
    jvmtiError e = JVMTI_ERROR_NONE;
    jvmtiEnv *ti = NULL;
    JavaVM *vm = NULL;
    if ((*env)->GetJavaVM(env, &vm) != 0 || vm == NULL) {
        what = "GetJavaVM failed";
        goto fail;
    }
    if ((*vm)->GetEnv(vm, (void **)&ti, JVMTI_VERSION_1_2) != JNI_OK || ti == NULL) {
        what = "this JVM offers no JVMTI 1.2 environment";
        ti = NULL;
        goto fail;
    }
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_compiled_method_load_events = !vm_names;
    caps.can_get_line_numbers = 1;
    caps.can_get_source_file_name = 1;
    if ((e = (*ti)->AddCapabilities(ti, &caps)) != JVMTI_ERROR_NONE) {
        /* Lines are a bonus: try once more with the one capability that matters. */
        memset(&caps, 0, sizeof(caps));
        caps.can_generate_compiled_method_load_events = !vm_names;
        if (!vm_names && (e = (*ti)->AddCapabilities(ti, &caps)) != JVMTI_ERROR_NONE) {
            what = "AddCapabilities(can_generate_compiled_method_load_events)";
            goto fail;
        }
    }
    /* Optional: garbage collection ends, which is when classes (and the Method*s of their frames) can go. */
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_garbage_collection_events = 1;
    int gc_events = (*ti)->AddCapabilities(ti, &caps) == JVMTI_ERROR_NONE;
    jvmtiEventCallbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    if (gc_events) {
        callbacks.GarbageCollectionFinish = on_garbage_collection_finish;
    }
    if (!vm_names) {
        callbacks.CompiledMethodLoad = on_compiled_method_load;
        callbacks.CompiledMethodUnload = on_compiled_method_unload;
    }
    callbacks.DynamicCodeGenerated = on_dynamic_code_generated;
    java_vm = vm;
    jvmti = ti;
    if ((e = (*ti)->SetEventCallbacks(ti, &callbacks, (jint)sizeof(callbacks))) != JVMTI_ERROR_NONE) {
        what = "SetEventCallbacks";
        goto fail;
    }
    if (vm_names) {
        snprintf(naming, sizeof(naming), "compiled Java frames named from their nmethods (VMStructs), without "
                                         "JVMTI CompiledMethodLoad");
    } else {
        quiet_non_safepoint_debug_info(vm_why);
    }
    const jvmtiEvent events[] = {JVMTI_EVENT_DYNAMIC_CODE_GENERATED, JVMTI_EVENT_COMPILED_METHOD_LOAD,
                                 JVMTI_EVENT_COMPILED_METHOD_UNLOAD};
    for (size_t i = 0; i < (vm_names ? 1 : sizeof(events) / sizeof(events[0])); i++) {
        if ((e = (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, events[i], NULL)) != JVMTI_ERROR_NONE) {
            what = "SetEventNotificationMode";
            goto fail;
        }
    }
    if (gc_events && (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_GARBAGE_COLLECTION_FINISH, NULL)
                         == JVMTI_ERROR_NONE) {
        __atomic_store_n(&gc_finished, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_lock(&map_lock);
    replaying = 1;
    pthread_mutex_unlock(&map_lock);
    jvmtiError e1 = (*ti)->GenerateEvents(ti, JVMTI_EVENT_DYNAMIC_CODE_GENERATED);
    jvmtiError e2 = vm_names ? JVMTI_ERROR_NONE : (*ti)->GenerateEvents(ti, JVMTI_EVENT_COMPILED_METHOD_LOAD);
    pthread_mutex_lock(&map_lock);
    replaying = 0;
    pthread_mutex_unlock(&map_lock);
    if (e1 != JVMTI_ERROR_NONE || e2 != JVMTI_ERROR_NONE) {
        e = e1 != JVMTI_ERROR_NONE ? e1 : e2;
        what = "GenerateEvents";
        goto fail;
    }
    started = 1;
    pthread_mutex_unlock(&start_lock);
    return 0;

fail:
    if (ti != NULL) {
        for (size_t i = 0; i < 3; i++) {
            (*ti)->SetEventNotificationMode(ti, JVMTI_DISABLE,
                                            i == 0   ? JVMTI_EVENT_COMPILED_METHOD_LOAD
                                            : i == 1 ? JVMTI_EVENT_COMPILED_METHOD_UNLOAD
                                                     : JVMTI_EVENT_DYNAMIC_CODE_GENERATED,
                                            NULL);
        }
        (*ti)->DisposeEnvironment(ti);
    }
    jvmti = NULL;
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "JVMTI code map: %s failed (error %d)", what, (int)e);
    }
    pthread_mutex_unlock(&start_lock);
    return -1;
}

int jvm_code_map_started(void) {
    pthread_mutex_lock(&start_lock);
    int s = started;
    pthread_mutex_unlock(&start_lock);
    return s;
}

static void set_method_frame(struct code_frame *f, int kind, const struct method_info *m, int line) {
    f->kind = kind;
    f->line = line;
    f->class_name = m != NULL ? m->class_name : NULL;
    f->name = m != NULL ? m->name : NULL;
    f->source_file = m != NULL ? m->source_file : NULL;
    if (kind == CODE_FRAME_JIT && m != NULL && m->is_native) {
        f->kind = CODE_FRAME_NATIVE_WRAPPER;
    }
}

/*
 * The description of a method by its Method*, through its jmethodID; when HotSpot made none yet (compiled methods
 * seldom have one without CompiledMethodLoad), JVMTI makes them for the class's methods. NULL when it cannot be named.
 */
static const struct method_info *method_of(JNIEnv *jni, uintptr_t method, struct method_info *unlisted) {
    char name[8192];
    struct vm_method facts;
    if (vmstructs_describe_compiled_method(method, name, sizeof(name), &facts) < 0) {
        return NULL;
    }
    char *dot = strrchr(name, '.');
    if (facts.jmethod_id == 0 && jni != NULL) {
        *dot = '\0';
        create_jmethod_ids(jni, name);
        *dot = '.';
        if (vmstructs_describe_compiled_method(method, name, sizeof(name), &facts) < 0) {
            return NULL;
        }
    }
    const struct method_info *info = facts.jmethod_id != 0 ? method_info_for(jvmti, (jmethodID)facts.jmethod_id) : NULL;
    if (info == NULL) {
        /* A method in no class's list (a method handle intrinsic): its name from VMStructs, without lines. */
        memset(unlisted, 0, sizeof(*unlisted));
        pthread_mutex_lock(&map_lock);
        unlisted->class_name = string_table_intern(&names, name, (size_t)(dot - name));
        unlisted->name = string_table_intern(&names, dot + 1, strlen(dot + 1));
        pthread_mutex_unlock(&map_lock);
        info = unlisted->class_name != NULL && unlisted->name != NULL ? unlisted : NULL;
    }
    return info;
}

/*
 * The frames of addresses named from nmethods, kept while their nmethod is: the Java side drops all its names whenever
 * one nmethod it named goes (the generation), and asks again; these answer without reading the nmethod again (a few
 * dozen system calls). Direct-mapped by address, in the arena; under map_lock.
 */
#define PC_CACHE_SLOTS 2048
#define PC_CACHE_FRAMES 6
struct pc_cached {
    uintptr_t pc;
    struct nmethod_ref ref;
    int count;
    struct code_frame frames[PC_CACHE_FRAMES];
};
static struct pc_cached *pc_cache;

static struct pc_cached *pc_cache_slot(uintptr_t pc) {
    if (pc_cache == NULL) {
        pc_cache = mmap_arena_map(&arena, mmap_arena_page_round(PC_CACHE_SLOTS * sizeof(*pc_cache)));
    }
    return pc_cache != NULL ? &pc_cache[hash64(pc) & (PC_CACHE_SLOTS - 1)] : NULL;
}

/* Frames of a return address in compiled code, from its nmethod; -1 when pc is in no nmethod (or it went meanwhile). */
static int lookup_nmethod(JNIEnv *jni, uintptr_t pc, struct code_frame *out, int max) {
    pthread_mutex_lock(&map_lock);
    struct pc_cached *cached = pc_cache_slot(pc);
    if (cached != NULL && cached->pc == pc && cached->count <= max && jvm_nmethod_alive(&cached->ref)) {
        int n = cached->count;
        memcpy(out, cached->frames, (size_t)n * sizeof(*out));
        named_add(&cached->ref);
        pthread_mutex_unlock(&map_lock);
        return n;
    }
    pthread_mutex_unlock(&map_lock);
    struct nmethod_scope scopes[64];
    struct nmethod_ref ref;
    int count = jvm_nmethod_scopes(pc, scopes, max < 64 ? max : 64, &ref);
    if (count < 0) {
        return -1;
    }
    struct method_info unlisted;
    if (count == 0) {
        const struct method_info *m = method_of(jni, ref.method, &unlisted);
        if (m == NULL) {
            return -1;
        }
        set_method_frame(&out[0], ref.native ? CODE_FRAME_NATIVE_WRAPPER : CODE_FRAME_JIT, m, -1);
    }
    for (int k = 0; k < count; k++) {
        const struct method_info *m = method_of(jni, scopes[k].method, &unlisted);
        if (m == NULL) {
            return -1;
        }
        set_method_frame(&out[k], k + 1 < count ? CODE_FRAME_INLINED : CODE_FRAME_JIT, m, line_of(m, scopes[k].bci));
    }
    int n = count > 0 ? count : 1;
    pthread_mutex_lock(&map_lock);
    named_add(&ref);
    cached = pc_cache_slot(pc);
    if (cached != NULL && n <= PC_CACHE_FRAMES) {
        cached->pc = pc;
        cached->ref = ref;
        cached->count = n;
        memcpy(cached->frames, out, (size_t)n * sizeof(*out));
    }
    pthread_mutex_unlock(&map_lock);
    return n;
}

/* The stub holding pc, or NULL. Under map_lock. */
static const struct stub *stub_at(uintptr_t pc) {
    const struct stub *best = NULL;
    for (uint32_t i = 0; i < stubs_count; i++) {
        const struct stub *s = &stubs[i];
        if (pc >= s->start && pc < s->end && (best == NULL || s->end - s->start < best->end - best->start)) {
            best = s;
        }
    }
    return best;
}

int jvm_code_map_classify(uintptr_t pc) {
    if (!vm_names) {
        return -1;
    }
    struct nmethod_scope scopes[64];
    struct nmethod_ref ref;
    int count = jvm_nmethod_scopes(pc, scopes, 64, &ref);
    if (count == 0) {
        scopes[0].method = ref.method;
        count = 1;
    }
    if (count > 0) {
        for (int k = 0; k < count; k++) {
            char name[8192];
            struct vm_method facts;
            if (vmstructs_describe_compiled_method(scopes[k].method, name, sizeof(name), &facts) < 0) {
                return 0;
            }
            if (facts.jmethod_id == 0 && jvmti != NULL) {
                pending_add(name, (size_t)(strrchr(name, '.') - name));
            }
        }
        /* What it was classified as holds while the nmethod does: the generation watches it as a named one. */
        pthread_mutex_lock(&map_lock);
        named_add(&ref);
        pthread_mutex_unlock(&map_lock);
        return 1;
    }
    pthread_mutex_lock(&map_lock);
    int stub = stub_at(pc) != NULL;
    pthread_mutex_unlock(&map_lock);
    return stub ? 2 : 0;
}

int jvm_code_map_lookup(JNIEnv *jni, uintptr_t pc, struct code_frame *out, int max) {
    if (out == NULL || max <= 0) {
        return 0;
    }
    if (vm_names) {
        /* JVMTI calls (names, line tables, jmethodIDs) are made outside map_lock. */
        int found = lookup_nmethod(jni, pc, out, max);
        if (found > 0) {
            return found;
        }
    }
    int n = 0;
    pthread_mutex_lock(&map_lock);
    int index = vm_names ? -1 : nm_find_containing(pc);
    if (index >= 0) {
        const struct nm *r = &nms[index];
        const struct pc_entry *pcs = r->block;
        const struct inl_frame *frames = (const struct inl_frame *)(pcs + r->pc_count);
        /* A frame's address is a return address, which is where HotSpot puts the PC descriptor of a call:
         * take the first descriptor at or after the address. */
        uint32_t offset = (uint32_t)(pc - r->start);
        uint32_t lo = 0, hi = r->pc_count;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (pcs[mid].pc_offset < offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < r->pc_count && pcs[lo].depth > 0) {
            const struct pc_entry *p = &pcs[lo];
            uint32_t depth = p->depth;
            for (uint32_t k = 0; k + 1 < depth && n < max - 1; k++) {
                const struct inl_frame *f = &frames[p->first + k];
                set_method_frame(&out[n++], CODE_FRAME_INLINED, f->method, f->line);
            }
            const struct inl_frame *outer = &frames[p->first + depth - 1];
            set_method_frame(&out[n++], CODE_FRAME_JIT, outer->method != NULL ? outer->method : r->method,
                             outer->line);
        } else {
            set_method_frame(&out[n++], CODE_FRAME_JIT, r->method, -1);
        }
    } else {
        const struct stub *best = stub_at(pc);
        if (best != NULL) {
            out[n].kind = CODE_FRAME_STUB;
            out[n].line = -1;
            out[n].class_name = NULL;
            out[n].name = best->name;
            out[n].source_file = NULL;
            n++;
        }
    }
    pthread_mutex_unlock(&map_lock);
    return n;
}

/*
 * The calling thread's Java frames from JVMTI, innermost first: a few hundred nanoseconds per frame, several
 * times cheaper than StackWalker, which names every frame as it goes; here names come later, once per method.
 */
int jvm_code_map_capture(int max, uint64_t *methods, int64_t *locations) {
    jvmtiFrameInfo frames[JVM_CODE_MAP_MAX_CAPTURE];
    jint count = 0;
    if (jvmti == NULL || max <= 0) {
        return -1;
    }
    if (max > JVM_CODE_MAP_MAX_CAPTURE) {
        max = JVM_CODE_MAP_MAX_CAPTURE;
    }
    if ((*jvmti)->GetStackTrace(jvmti, NULL, 0, max, frames, &count) != JVMTI_ERROR_NONE) {
        return -1;
    }
    for (jint i = 0; i < count; i++) {
        methods[i] = (uint64_t)(uintptr_t)frames[i].method;
        locations[i] = (int64_t)frames[i].location;
    }
    return (int)count;
}

int jvm_code_map_describe(uint64_t method, int64_t location, struct code_frame *out) {
    const struct method_info *m = jvmti != NULL ? method_info_for(jvmti, (jmethodID)(uintptr_t)method) : NULL;
    if (m == NULL) {
        return -1;
    }
    out->kind = CODE_FRAME_JIT;
    out->line = line_of(m, location >= 0 && location <= INT32_MAX ? (int32_t)location : -1);
    out->class_name = m->class_name;
    out->name = m->name;
    out->source_file = m->source_file;
    return 0;
}

int jvm_code_map_interpreter(uintptr_t *start, uintptr_t *end) {
    pthread_mutex_lock(&map_lock);
    int found = interpreter_end > interpreter_start;
    if (found) {
        *start = interpreter_start;
        *end = interpreter_end;
    }
    pthread_mutex_unlock(&map_lock);
    return found;
}

int jvm_code_map_ranges_of(const char *qualified_name, uintptr_t *out, int max) {
    if (vm_names) {
        return jvm_nmethod_ranges_of(qualified_name, out, max);
    }
    const char *dot = strrchr(qualified_name, '.');
    if (dot == NULL) {
        return 0;
    }
    size_t class_len = (size_t)(dot - qualified_name);
    int n = 0;
    pthread_mutex_lock(&map_lock);
    for (uint32_t i = 0; i < nms_used && n < max; i++) {
        const struct nm *r = &nms[i];
        if (r->live && r->method != NULL && strcmp(r->method->name, dot + 1) == 0
            && strncmp(r->method->class_name, qualified_name, class_len) == 0
            && r->method->class_name[class_len] == '\0') {
            out[2 * n] = r->start;
            out[2 * n + 1] = r->end;
            n++;
        }
    }
    pthread_mutex_unlock(&map_lock);
    return n;
}

uint64_t jvm_code_map_generation(void) {
    pthread_mutex_lock(&map_lock);
    uint64_t g = vm_names ? vm_generation() : generation;
    pthread_mutex_unlock(&map_lock);
    return g;
}

void jvm_code_map_stats(uint64_t out[6]) {
    pthread_mutex_lock(&map_lock);
    out[0] = nms_live;
    out[1] = stubs_count;
    out[2] = loads_seen;
    out[3] = unloads_seen;
    out[4] = arena.mapped_bytes;
    out[5] = vm_names ? vm_generation() : generation;
    pthread_mutex_unlock(&map_lock);
}
