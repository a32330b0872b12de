/*
 * A walk over the calling thread's own Java frames, the way HotSpot's frame::sender does it on x86-64, reduced to
 * what identifies a call path:
 *
 *   top        JavaThread::_anchor (last Java sp, fp, pc), set while the thread is in a JNI call.
 *   compiled   pc in an nmethod of the code cache (found through the code heap's segment map, as CodeCache::find_blob
 *              does): the caller's sp is sp + the blob's frame size, its pc and fp the two words below that.
 *              The key is (pc, compile id): a pc of freed and reused code cache memory has another compile id.
 *   interpreted pc in the interpreter: Method* at fp[-3] and bytecode pointer at fp[-8]; the caller's pc and fp
 *              at fp[1] and fp[0], its sp (as the caller left it) at fp[-1].
 *   entry      pc at the call stub's return address: the JavaCallWrapper (fp[entry_frame_call_wrapper_offset])
 *              holds the anchor of the Java frames below; none means the bottom of the thread's Java stack.
 * Anything else (a runtime stub, a frame whose return address the deoptimizer has patched, a word outside the
 * thread's stack) ends the walk with no key, and the caller falls back to JVMTI.
 *
 * jvm_frame_walk_nmethod offers the code heap look-up to other threads (naming compiled code, jvm_nmethod.c): the
 * code heaps and their segment maps are the same memory from any thread, mapped for the JVM's life, so the same
 * direct reads serve; only what they find may be stale there (a block freed or reused since, as nmethods are
 * flushed at any time), which its caller checks, reading the nmethod itself through safe_read.
 *
 * Why reads here are direct and not through safe_read: every address is checked first to lie in the thread's own
 * stack between this function's frame and the stack base, or in the committed part of a code heap (its segment
 * map, its blocks), both mapped for as long as the thread runs. The one exception, a blob's name, is read with
 * safe_read once per distinct name pointer.
 *
 * Frames and code do not move under us: the thread walks itself, and an nmethod with an activation on a stack is
 * not freed. Deoptimization may patch a return address on this stack from another thread at any time; the pc is
 * read before the check against the nmethod's deopt handlers, so either the original pc or a detected handler is
 * seen.
 */
#define _GNU_SOURCE
#include "jvm_frame_walk.h"

#include "jvm_vmstructs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* x86-64 interpreter frame layout (frame_x86.hpp), in words from fp; not in VMStructs. */
#define INTERPRETER_METHOD_OFFSET (-3)
#define INTERPRETER_BCP_OFFSET (-8)
#define INTERPRETER_SENDER_SP_OFFSET (-1)
#define MAX_SEGMAP_HOPS 65536
#define NAME_CACHE 16

static struct {
    int ready; /* 1 ready, -1 failed */
    char error[200];
    jfieldID eetop;
    long thread_anchor, thread_stack_base;
    long anchor_sp, anchor_pc, anchor_fp;
    long call_wrapper_anchor;
    int32_t call_wrapper_offset; /* words from an entry frame's fp */
    uintptr_t call_stub_return;
    uintptr_t code_heaps; /* address of CodeCache::_heaps */
    long array_len, array_data;
    long heap_memory, heap_segmap, heap_log2_segment;
    long vs_low, vs_high;
    long block_used, block_size;
    long blob_name, blob_size, blob_frame_size;
    long nm_compile_id;
    long deopt, deopt_mh;
    long blob_fields_end; /* bytes past a blob's start that the walk reads */
    int deopt_relative; /* JDK 23+: int offsets from the blob; before: absolute addresses */
    uintptr_t interpreter_start, interpreter_end;
} w;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Blob name pointers already classified: JVM_NMETHOD_JAVA, JVM_NMETHOD_NATIVE or 0 (something else). */
static struct {
    uintptr_t name;
    int nmethod;
} names[NAME_CACHE];
static int name_count;

static int init_fail(const char *what) {
    snprintf(w.error, sizeof(w.error), "%s", what);
    w.ready = -1;
    return -1;
}

static int do_init(JNIEnv *env) {
    const struct {
        const char *type, *field;
        long *offset;
    } needed[] = {
        {"JavaThread", "_anchor", &w.thread_anchor},
        {"JavaThread", "_stack_base", &w.thread_stack_base},
        {"JavaFrameAnchor", "_last_Java_sp", &w.anchor_sp},
        {"JavaFrameAnchor", "_last_Java_pc", &w.anchor_pc},
        {"JavaFrameAnchor", "_last_Java_fp", &w.anchor_fp},
        {"JavaCallWrapper", "_anchor", &w.call_wrapper_anchor},
        {"GrowableArrayBase", "_len", &w.array_len},
        {"GrowableArray<int>", "_data", &w.array_data},
        {"CodeHeap", "_memory", &w.heap_memory},
        {"CodeHeap", "_segmap", &w.heap_segmap},
        {"CodeHeap", "_log2_segment_size", &w.heap_log2_segment},
        {"VirtualSpace", "_low", &w.vs_low},
        {"VirtualSpace", "_high", &w.vs_high},
        {"HeapBlock::Header", "_used", &w.block_used},
        {"CodeBlob", "_name", &w.blob_name},
        {"CodeBlob", "_size", &w.blob_size},
        {"CodeBlob", "_frame_size", &w.blob_frame_size},
        {"nmethod", "_compile_id", &w.nm_compile_id},
    };
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (vmstructs_field(needed[i].type, needed[i].field, needed[i].offset, NULL) != 0) {
            char what[160];
            snprintf(what, sizeof(what), "VMStructs has no %s::%s", needed[i].type, needed[i].field);
            return init_fail(what);
        }
    }
    if (vmstructs_field("nmethod", "_deopt_handler_offset", &w.deopt, NULL) == 0
        && vmstructs_field("nmethod", "_deopt_mh_handler_offset", &w.deopt_mh, NULL) == 0) {
        w.deopt_relative = 1;
    } else if (vmstructs_field("CompiledMethod", "_deopt_handler_begin", &w.deopt, NULL) != 0
               || vmstructs_field("CompiledMethod", "_deopt_mh_handler_begin", &w.deopt_mh, NULL) != 0) {
        return init_fail("VMStructs has no deoptimization handlers of nmethods");
    }
    /* The blob header fields read below must lie inside the code heap: how far they reach past the blob's start. */
    const long blob_fields[] = {w.blob_name, w.blob_size, w.blob_frame_size, w.nm_compile_id, w.deopt, w.deopt_mh};
    for (size_t i = 0; i < sizeof(blob_fields) / sizeof(blob_fields[0]); i++) {
        w.blob_fields_end = blob_fields[i] + 8 > w.blob_fields_end ? blob_fields[i] + 8 : w.blob_fields_end;
    }
    uintptr_t stub_return = 0;
    if (vmstructs_field("CodeCache", "_heaps", NULL, &w.code_heaps) != 0 || w.code_heaps == 0
        || vmstructs_field("StubRoutines", "_call_stub_return_address", NULL, &stub_return) != 0
        || safe_read(&w.call_stub_return, stub_return, sizeof(w.call_stub_return)) != 0 || w.call_stub_return == 0) {
        return init_fail("VMStructs has no code heaps or call stub");
    }
    if (vmstructs_type_size("HeapBlock", &w.block_size) != 0 || w.block_size <= 0) {
        return init_fail("VMTypes has no HeapBlock");
    }
    if (vmstructs_int_constant("frame::entry_frame_call_wrapper_offset", &w.call_wrapper_offset) != 0) {
        return init_fail("VMStructs has no frame::entry_frame_call_wrapper_offset");
    }
    if (vmstructs_interpreter_range(&w.interpreter_start, &w.interpreter_end) != 0) {
        return init_fail("the interpreter's code range is unknown");
    }
    jclass thread_class = (*env)->FindClass(env, "java/lang/Thread");
    w.eetop = thread_class != NULL ? (*env)->GetFieldID(env, thread_class, "eetop", "J") : NULL;
    if (w.eetop == NULL) {
        (*env)->ExceptionClear(env);
        return init_fail("java.lang.Thread has no eetop field");
    }
    w.ready = 1;
    return 0;
}

int jvm_frame_walk_init(JNIEnv *env, char *err, size_t err_len) {
    char why[200];
    if (vmstructs_init(env, why, sizeof(why)) != 0) {
        snprintf(err, err_len, "%s", why);
        return -1;
    }
    return vmstructs_init_once(&init_lock, &w.ready, do_init, env, w.error, err, err_len);
}

/* The part of this thread's stack that holds its callers' frames: [lo, hi). */
struct stack_range {
    uintptr_t lo, hi;
};

static int stack_word(const struct stack_range *s, uintptr_t addr, uintptr_t *out) {
    if (addr < s->lo || addr > s->hi - sizeof(uintptr_t) || (addr & 7) != 0) {
        return -1;
    }
    *out = *(const uintptr_t *)addr;
    return 0;
}

static int is_nmethod_name(uintptr_t name) {
    int count = __atomic_load_n(&name_count, __ATOMIC_ACQUIRE);
    for (int i = 0; i < count; i++) {
        if (names[i].name == name) {
            return names[i].nmethod;
        }
    }
    char text[16] = {0};
    if (name == 0 || safe_read(text, name, sizeof(text) - 1) != 0) {
        return 0;
    }
    int nmethod = strcmp(text, "nmethod") == 0          ? JVM_NMETHOD_JAVA
                  : strcmp(text, "native nmethod") == 0 ? JVM_NMETHOD_NATIVE
                                                        : 0;
    pthread_mutex_lock(&init_lock);
    if (name_count < NAME_CACHE) {
        names[name_count].name = name;
        names[name_count].nmethod = nmethod;
        __atomic_store_n(&name_count, name_count + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    return nmethod;
}

/*
 * The nmethod holding pc, or 0 when pc is in no code heap block or the block is not an nmethod; its kind in *kind
 * (JVM_NMETHOD_JAVA or JVM_NMETHOD_NATIVE) when kind is not NULL.
 */
static uintptr_t find_nmethod(uintptr_t pc, int *kind, uintptr_t *mark) {
    uintptr_t heaps = *(const uintptr_t *)w.code_heaps;
    if (heaps == 0) {
        return 0;
    }
    int32_t count = *(const int32_t *)(heaps + w.array_len);
    uintptr_t data = *(const uintptr_t *)(heaps + w.array_data);
    for (int32_t i = 0; i < count && i < 16; i++) {
        uintptr_t heap = ((const uintptr_t *)data)[i];
        uintptr_t low = *(const uintptr_t *)(heap + w.heap_memory + w.vs_low);
        uintptr_t high = *(const uintptr_t *)(heap + w.heap_memory + w.vs_high);
        if (pc < low || pc >= high) {
            continue;
        }
        uintptr_t seg_low = *(const uintptr_t *)(heap + w.heap_segmap + w.vs_low);
        uintptr_t seg_high = *(const uintptr_t *)(heap + w.heap_segmap + w.vs_high);
        int32_t log2 = *(const int32_t *)(heap + w.heap_log2_segment);
        if (log2 <= 0 || log2 > 20) {
            return 0;
        }
        uintptr_t index = (pc - low) >> log2;
        for (int hops = 0;; hops++) {
            if (seg_low + index >= seg_high || hops > MAX_SEGMAP_HOPS) {
                return 0;
            }
            uint8_t back = *(const uint8_t *)(seg_low + index);
            if (back == 0xFF) {
                return 0; /* a free segment */
            }
            if (back == 0) {
                break;
            }
            if (back > index) {
                return 0;
            }
            index -= back;
        }
        uintptr_t block = low + (index << log2);
        uintptr_t blob = block + (uintptr_t)w.block_size;
        if (blob + (uintptr_t)w.blob_fields_end > high || !*(const uint8_t *)(block + w.block_used)) {
            return 0;
        }
        int32_t size = *(const int32_t *)(blob + w.blob_size);
        if (size <= 0 || pc >= blob + (uintptr_t)size) {
            return 0;
        }
        int nmethod = is_nmethod_name(*(const uintptr_t *)(blob + w.blob_name));
        if (kind != NULL) {
            *kind = nmethod;
        }
        if (mark != NULL) {
            *mark = seg_low + index;
        }
        return nmethod != 0 ? blob : 0;
    }
    return 0;
}

int jvm_frame_walk_nmethods(int (*visit)(uintptr_t blob, int kind, void *context), void *context) {
    long length = 0;
    uintptr_t heaps = 0, data = 0;
    int32_t count = 0;
    if (__atomic_load_n(&w.ready, __ATOMIC_ACQUIRE) != 1
        || vmstructs_field("HeapBlock::Header", "_length", &length, NULL) != 0
        || safe_read(&heaps, w.code_heaps, sizeof(heaps)) != 0 || heaps == 0
        || safe_read(&count, heaps + w.array_len, sizeof(count)) != 0
        || safe_read(&data, heaps + w.array_data, sizeof(data)) != 0) {
        return -1;
    }
    for (int32_t i = 0; i < count && i < 16; i++) {
        uintptr_t heap = 0, low = 0, high = 0;
        int32_t log2 = 0;
        if (safe_read(&heap, data + (uintptr_t)i * sizeof(heap), sizeof(heap)) != 0
            || safe_read(&low, heap + w.heap_memory + w.vs_low, sizeof(low)) != 0
            || safe_read(&high, heap + w.heap_memory + w.vs_high, sizeof(high)) != 0
            || safe_read(&log2, heap + w.heap_log2_segment, sizeof(log2)) != 0 || log2 <= 0 || log2 > 20) {
            return -1;
        }
        /* Block by block: each header holds its length in segments (the low 32 bits on every JDK). */
        for (uintptr_t block = low; block + (uintptr_t)w.block_size < high;) {
            uint32_t segments = 0;
            uint8_t used = 0;
            if (safe_read(&segments, block + (uintptr_t)length, sizeof(segments)) != 0 || segments == 0
                || safe_read(&used, block + (uintptr_t)w.block_used, sizeof(used)) != 0) {
                break;
            }
            uintptr_t blob = block + (uintptr_t)w.block_size;
            int kind = 0;
            if (used && find_nmethod(blob, &kind, NULL) == blob && visit(blob, kind, context) != 0) {
                return 0;
            }
            block += (uintptr_t)segments << log2;
        }
    }
    return 0;
}

uintptr_t jvm_frame_walk_nmethod(uintptr_t pc, int *kind, int32_t *compile_id, uintptr_t *mark) {
    if (__atomic_load_n(&w.ready, __ATOMIC_ACQUIRE) != 1) {
        return 0;
    }
    uintptr_t nm = find_nmethod(pc, kind, mark);
    if (nm != 0 && compile_id != NULL) {
        *compile_id = *(const int32_t *)(nm + w.nm_compile_id);
    }
    return nm;
}

int jvm_frame_walk_same_nmethod(uintptr_t nm, int32_t compile_id, uintptr_t mark) {
    /* Its segment still starts a block (a freed block's segments are marked free, a block placed over it starts
     * elsewhere or holds another blob or compile), the block is in use, and it still is this nmethod. */
    return __atomic_load_n(&w.ready, __ATOMIC_ACQUIRE) == 1 && mark != 0 && *(const uint8_t *)mark == 0
           && *(const uint8_t *)(nm - (uintptr_t)w.block_size + (uintptr_t)w.block_used) != 0
           && is_nmethod_name(*(const uintptr_t *)(nm + w.blob_name))
           && *(const int32_t *)(nm + w.nm_compile_id) == compile_id;
}

static int is_deopt_handler(uintptr_t nm, uintptr_t pc) {
    if (w.deopt_relative) {
        int32_t deopt = *(const int32_t *)(nm + w.deopt), deopt_mh = *(const int32_t *)(nm + w.deopt_mh);
        return (deopt > 0 && pc == nm + (uintptr_t)deopt) || (deopt_mh > 0 && pc == nm + (uintptr_t)deopt_mh);
    }
    uintptr_t deopt = *(const uintptr_t *)(nm + w.deopt), deopt_mh = *(const uintptr_t *)(nm + w.deopt_mh);
    return pc == deopt || pc == deopt_mh;
}

int jvm_frame_walk_layout(JNIEnv *env, struct jvm_layout *out, char *err, size_t err_len) {
    if (jvm_frame_walk_init(env, err, err_len) != 0) {
        return -1;
    }
    long const_method = 0, const_method_size = 0;
    if (vmstructs_field("Method", "_constMethod", &const_method, NULL) != 0
        || vmstructs_type_size("ConstMethod", &const_method_size) != 0 || const_method_size <= 0) {
        snprintf(err, err_len, "VMStructs has no Method::_constMethod or ConstMethod");
        return -1;
    }
    long high_boundary = 0;
    if (vmstructs_field("VirtualSpace", "_high_boundary", &high_boundary, NULL) != 0) {
        snprintf(err, err_len, "VMStructs has no VirtualSpace::_high_boundary");
        return -1;
    }
    /* The kernel side reads the anchor's words and a block's header each in one read (see memleak.h). */
    long anchor_first = w.anchor_sp < w.anchor_fp ? w.anchor_sp : w.anchor_fp;
    anchor_first = w.anchor_pc < anchor_first ? w.anchor_pc : anchor_first;
    const long anchor_fields[] = {w.anchor_sp, w.anchor_fp, w.anchor_pc};
    for (size_t i = 0; i < sizeof(anchor_fields) / sizeof(anchor_fields[0]); i++) {
        if ((anchor_fields[i] & 7) != 0 || anchor_fields[i] - anchor_first + 8 > JVM_ANCHOR_BYTES) {
            snprintf(err, err_len, "JavaFrameAnchor's fields are not the %d bytes this agent reads at once",
                     JVM_ANCHOR_BYTES);
            return -1;
        }
    }
    const long header_fields_end[] = {w.block_used + 1, w.block_size + w.blob_size + 4,
                                      w.block_size + w.blob_frame_size + 4, w.block_size + w.blob_name + 8};
    for (size_t i = 0; i < sizeof(header_fields_end) / sizeof(header_fields_end[0]); i++) {
        if (header_fields_end[i] > JVM_BLOCK_HEADER_BYTES) {
            snprintf(err, err_len, "a code blob's header is not the %d bytes this agent reads at once",
                     JVM_BLOCK_HEADER_BYTES);
            return -1;
        }
    }
    uintptr_t heaps = 0, data = 0;
    int32_t count = 0;
    if (safe_read(&heaps, w.code_heaps, sizeof(heaps)) != 0 || heaps == 0
        || safe_read(&count, heaps + w.array_len, sizeof(count)) != 0
        || safe_read(&data, heaps + w.array_data, sizeof(data)) != 0 || count <= 0 || count > JVM_CODE_HEAPS) {
        snprintf(err, err_len, "the JVM's code heaps are unknown");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    /* Fixed once the JVM runs: the start, the reserved end (the committed one grows), the segment map's start, its scale. */
    for (int32_t i = 0; i < count; i++) {
        uintptr_t heap = 0, segmap = 0;
        int32_t log2 = 0;
        if (safe_read(&heap, data + (uintptr_t)i * sizeof(uintptr_t), sizeof(heap)) != 0 || heap == 0
            || safe_read(&out->heap_low[i], heap + w.heap_memory + w.vs_low, sizeof(out->heap_low[i])) != 0
            || safe_read(&out->heap_high[i], heap + w.heap_memory + high_boundary, sizeof(out->heap_high[i])) != 0
            || safe_read(&segmap, heap + w.heap_segmap + w.vs_low, sizeof(segmap)) != 0
            || safe_read(&log2, heap + w.heap_log2_segment, sizeof(log2)) != 0 || log2 <= 0 || log2 > 20
            || out->heap_high[i] <= out->heap_low[i] || segmap == 0) {
            snprintf(err, err_len, "the JVM's code heaps are unknown");
            return -1;
        }
        out->heap_segmap[i] = segmap;
        out->heap_log2[i] = (uint64_t)log2;
    }
    out->thread_anchor = (uint64_t)w.thread_anchor;
    out->thread_stack_base = (uint64_t)w.thread_stack_base;
    out->anchor_sp = (uint64_t)w.anchor_sp;
    out->anchor_fp = (uint64_t)w.anchor_fp;
    out->anchor_pc = (uint64_t)w.anchor_pc;
    out->call_wrapper_anchor = (uint64_t)w.call_wrapper_anchor;
    out->call_wrapper_slot = (int64_t)w.call_wrapper_offset * 8;
    out->anchor_first = (uint64_t)anchor_first;
    out->call_stub_return = w.call_stub_return;
    out->block_size = (uint64_t)w.block_size;
    out->block_used = (uint64_t)w.block_used;
    out->blob_name = (uint64_t)w.blob_name;
    out->blob_size = (uint64_t)w.blob_size;
    out->blob_frame_size = (uint64_t)w.blob_frame_size;
    out->method_const_method = (uint64_t)const_method;
    out->const_method_size = (uint64_t)const_method_size;
    out->ready = 1;
    return 0;
}

int jvm_frame_walk(JNIEnv *env, jobject thread, uint64_t *out, int max, int *interpreted) {
    if (__atomic_load_n(&w.ready, __ATOMIC_ACQUIRE) != 1 || thread == NULL) {
        return -1;
    }
    uintptr_t java_thread = (uintptr_t)(*env)->GetLongField(env, thread, w.eetop);
    if (java_thread == 0) {
        return -1;
    }
    struct stack_range stack;
    stack.lo = (uintptr_t)__builtin_frame_address(0);
    stack.hi = *(const uintptr_t *)(java_thread + w.thread_stack_base);
    if (stack.hi <= stack.lo || stack.hi - stack.lo > ((uintptr_t)1 << 32)) {
        return -1; /* not this thread's JavaThread */
    }
    uintptr_t anchor = java_thread + w.thread_anchor;
    uintptr_t sp = *(const uintptr_t *)(anchor + w.anchor_sp);
    uintptr_t fp = *(const uintptr_t *)(anchor + w.anchor_fp);
    uintptr_t pc = *(const uintptr_t *)(anchor + w.anchor_pc);
    if (pc == 0 && stack_word(&stack, sp - 8, &pc) != 0) {
        return -1;
    }
    int n = 0;
    *interpreted = 0;
    while (n < max) {
        if (sp < stack.lo || sp >= stack.hi) {
            return -1;
        }
        if (pc == w.call_stub_return) {
            uintptr_t wrapper = 0, next_sp = 0;
            if (stack_word(&stack, fp + (uintptr_t)((intptr_t)w.call_wrapper_offset * 8), &wrapper) != 0
                || stack_word(&stack, wrapper + w.call_wrapper_anchor + w.anchor_sp, &next_sp) != 0) {
                return -1;
            }
            if (next_sp == 0) {
                return n; /* the first Java call of this thread: nothing below */
            }
            if (next_sp <= sp || stack_word(&stack, wrapper + w.call_wrapper_anchor + w.anchor_fp, &fp) != 0
                || stack_word(&stack, wrapper + w.call_wrapper_anchor + w.anchor_pc, &pc) != 0
                || (pc == 0 && stack_word(&stack, next_sp - 8, &pc) != 0)) {
                return -1;
            }
            sp = next_sp;
            continue;
        }
        if (pc >= w.interpreter_start && pc < w.interpreter_end) {
            uintptr_t method = 0, bcp = 0, caller_sp = 0, caller_pc = 0, caller_fp = 0;
            if (stack_word(&stack, fp + INTERPRETER_METHOD_OFFSET * 8, &method) != 0
                || stack_word(&stack, fp + INTERPRETER_BCP_OFFSET * 8, &bcp) != 0
                || stack_word(&stack, fp + INTERPRETER_SENDER_SP_OFFSET * 8, &caller_sp) != 0
                || stack_word(&stack, fp + 8, &caller_pc) != 0 || stack_word(&stack, fp, &caller_fp) != 0
                || method == 0 || (method & FRAME_WALK_INTERPRETED) != 0 || caller_sp <= sp) {
                return -1;
            }
            out[2 * n] = method | FRAME_WALK_INTERPRETED;
            out[2 * n + 1] = bcp;
            n++;
            *interpreted = 1;
            sp = caller_sp;
            pc = caller_pc;
            fp = caller_fp;
            continue;
        }
        uintptr_t nm = find_nmethod(pc, NULL, NULL);
        if (nm == 0 || is_deopt_handler(nm, pc)) {
            return -1;
        }
        int32_t frame_words = *(const int32_t *)(nm + w.blob_frame_size);
        uintptr_t caller_sp = sp + (uintptr_t)frame_words * 8, caller_pc = 0, caller_fp = 0;
        if (frame_words <= 0 || stack_word(&stack, caller_sp - 8, &caller_pc) != 0
            || stack_word(&stack, caller_sp - 16, &caller_fp) != 0) {
            return -1;
        }
        out[2 * n] = pc;
        out[2 * n + 1] = (uint64_t)(uint32_t) * (const int32_t *)(nm + w.nm_compile_id);
        n++;
        pc = caller_pc;
        fp = caller_fp;
        sp = caller_sp;
    }
    return n;
}
