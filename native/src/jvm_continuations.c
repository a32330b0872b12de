// SPDX-License-Identifier: Apache-2.0
/*
 * What the kernel side's walk needs to go on through a virtual thread's frozen frames (JDK 21+).
 *
 * A virtual thread runs its frames on a carrier thread's stack; when it unmounts (a sleep, a blocking call) they are
 * copied into StackChunk objects in the Java heap, and when it mounts again HotSpot copies back ("thaws") only the
 * top few frames when the rest is large or holds interpreted frames. The lowest thawed frame then returns to
 * StubRoutines::_cont_returnBarrier instead of its caller, and its callers stay in the chunk until they are returned
 * to. A walk that stops at that return address reports the stack cut after the last thawed frame: the same call path
 * as two stacks, one cut and one whole, depending on whether the virtual thread had yielded before.
 *
 * So the walk follows HotSpot's own (Continuation::continuation_top_frame, StackChunkFrameStream): the mounted
 * virtual thread (JavaThread::_vthread), its Continuation (VirtualThread.cont), the continuation's newest chunk
 * (Continuation.tail, then StackChunk.parent), whose frames lie from StackChunk.sp to StackChunk.bottom words past
 * the chunk's fields; then the continuation's entry frame on the carrier's stack (JavaThread::_cont_entry: the
 * frame's sp is the ContinuationEntry's address, its fp the word after it, its pc ContinuationEntry::_return_pc).
 *
 * A virtual thread's stack ends at that entry frame (Continuation.enterSpecial, ContinuationEntry::_enter_special),
 * whole or thawed: below it are its carrier's frames, the scheduler's, which differ between a thread's first run and
 * its runs after a park (a task submitted, a task resubmitted) and would split one call path into several stacks.
 * JFR and Thread.getStackTrace end a virtual thread's stack there too.
 *
 * VMStructs lists the JavaThread fields and the entry; the Java field offsets, the chunk's stack offset and the
 * return barrier are HotSpot statics found by their symbols in libjvm's .symtab (OpenJDK builds keep it). Where any
 * is missing the layout keeps zeros and the walk ends at the return barrier as before, counted as a walk that
 * ended early. So it does under ZGC and Shenandoah, which move objects while the application runs: a reference not yet
 * updated leads to the old copy of a chunk, whose frames may be stale (ZGC's references also carry color bits).
 * G1, Parallel and Serial move objects only in pauses, and a chunk's frames do not change while its carrier thread
 * is in the allocator: a read that races a pause's move finds the chunk's words or garbage, which the checks on
 * every pc and Method* turn away (the walk then ends early).
 */
#define _GNU_SOURCE
#include "jvm_continuations.h"

#include "elf_symbols.h"
#include "jvm_vmstructs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* HotSpot statics by symbol: what VMStructs does not list. */
enum {
    SYM_VMSTRUCTS, /* gHotSpotVMStructs: exported, its runtime address gives libjvm's load bias */
    SYM_RETURN_BARRIER,
    SYM_ENTER_SPECIAL,
    SYM_VTHREAD_CONT,
    SYM_CONT_TAIL,
    SYM_CHUNK_SP,
    SYM_CHUNK_BOTTOM,
    SYM_CHUNK_SIZE,
    SYM_CHUNK_PARENT,
    SYM_CHUNK_STACK,
    SYM_COMPRESSED_OOPS,
    SYM_REQUIRED,
    /* Collectors that move objects while the application runs (optional: a build may leave them out). */
    SYM_ZGC = SYM_REQUIRED,
    SYM_SHENANDOAH,
    SYM_COUNT,
};

static const char *const symbol_names[SYM_COUNT] = {
    [SYM_VMSTRUCTS] = "gHotSpotVMStructs",
    [SYM_RETURN_BARRIER] = "_ZN12StubRoutines19_cont_returnBarrierE",
    [SYM_ENTER_SPECIAL] = "_ZN17ContinuationEntry14_enter_specialE",
    [SYM_VTHREAD_CONT] = "_ZN23java_lang_VirtualThread20_continuation_offsetE",
    [SYM_CONT_TAIL] = "_ZN28jdk_internal_vm_Continuation12_tail_offsetE",
    [SYM_CHUNK_SP] = "_ZN26jdk_internal_vm_StackChunk10_sp_offsetE",
    [SYM_CHUNK_BOTTOM] = "_ZN26jdk_internal_vm_StackChunk14_bottom_offsetE",
    [SYM_CHUNK_SIZE] = "_ZN26jdk_internal_vm_StackChunk12_size_offsetE",
    [SYM_CHUNK_PARENT] = "_ZN26jdk_internal_vm_StackChunk14_parent_offsetE",
    [SYM_CHUNK_STACK] = "_ZN23InstanceStackChunkKlass16_offset_of_stackE",
    [SYM_COMPRESSED_OOPS] = "UseCompressedOops",
    [SYM_ZGC] = "UseZGC",
    [SYM_SHENANDOAH] = "UseShenandoahGC",
};

/* An int static of libjvm at its runtime address, as a field offset: 0 when unreadable or implausible. */
static uint64_t offset_at(uintptr_t address) {
    int32_t value = 0;
    return address != 0 && safe_read(&value, address, sizeof(value)) == 0 && value > 0 && value < 4096
               ? (uint64_t)value
               : 0;
}

int jvm_continuations_layout(JNIEnv *env, struct jvm_layout *out, char *why, size_t why_len) {
    long cont_entry = 0, vthread = 0, handle_obj = 0, entry_size = 0;
    uintptr_t return_pc_at = 0, base_at = 0, shift_at = 0;
    if (vmstructs_field("JavaThread", "_cont_entry", &cont_entry, NULL) != 0) {
        return 1; /* no virtual threads */
    }
    if (vmstructs_field("JavaThread", "_vthread", &vthread, NULL) != 0
        || vmstructs_field("OopHandle", "_obj", &handle_obj, NULL) != 0 || handle_obj != 0
        || vmstructs_type_size("ContinuationEntry", &entry_size) != 0 || entry_size <= 0 || (entry_size & 7) != 0
        || vmstructs_field("ContinuationEntry", "_return_pc", NULL, &return_pc_at) != 0
        || vmstructs_field("CompressedOops", "_base", NULL, &base_at) != 0
        || vmstructs_field("CompressedOops", "_shift", NULL, &shift_at) != 0) {
        snprintf(why, why_len, "VMStructs lacks the continuation entry or compressed oops");
        return -1;
    }
    char libjvm[PATH_MAX];
    uintptr_t vmstructs = 0;
    if (vmstructs_libjvm(env, libjvm, sizeof(libjvm), &vmstructs) != 0) {
        snprintf(why, why_len, "libjvm's file is unknown");
        return -1;
    }
    uint64_t values[SYM_COUNT];
    char err[256];
    if (elf_symbols_objects(libjvm, symbol_names, values, SYM_COUNT, err, sizeof(err)) != 0) {
        snprintf(why, why_len, "%s", err);
        return -1;
    }
    for (int i = 0; i < SYM_REQUIRED; i++) {
        if (values[i] == 0) {
            snprintf(why, why_len, "libjvm has no symbol %s (no .symtab?)", symbol_names[i]);
            return -1;
        }
    }
    uintptr_t bias = vmstructs - values[SYM_VMSTRUCTS];
    uint64_t barrier = 0, enter_special = 0, return_pc = 0, base = 0;
    int32_t shift = -1;
    uint8_t compressed = 0;
    if (safe_read(&barrier, bias + values[SYM_RETURN_BARRIER], sizeof(barrier)) != 0 || barrier == 0
        || safe_read(&enter_special, bias + values[SYM_ENTER_SPECIAL], sizeof(enter_special)) != 0
        || enter_special == 0
        || safe_read(&return_pc, return_pc_at, sizeof(return_pc)) != 0 || return_pc == 0
        || safe_read(&compressed, bias + values[SYM_COMPRESSED_OOPS], sizeof(compressed)) != 0
        || safe_read(&base, base_at, sizeof(base)) != 0 || safe_read(&shift, shift_at, sizeof(shift)) != 0
        || shift < 0 || shift > 8) {
        snprintf(why, why_len, "the continuation stubs or compressed oops are unreadable");
        return -1;
    }
    for (int i = SYM_REQUIRED; i < SYM_COUNT; i++) {
        uint8_t in_use = 0;
        if (values[i] != 0 && (safe_read(&in_use, bias + values[i], sizeof(in_use)) != 0 || in_use)) {
            /* A chunk read through a reference the collector has not updated yet may be a stale copy. */
            snprintf(why, why_len, "%s moves objects while the application runs",
                     i == SYM_ZGC ? "ZGC" : "Shenandoah");
            return -1;
        }
    }
    uint64_t offsets[SYM_COUNT] = {0};
    for (int i = SYM_VTHREAD_CONT; i <= SYM_CHUNK_STACK; i++) {
        if ((offsets[i] = offset_at(bias + values[i])) == 0) {
            snprintf(why, why_len, "%s is not a field offset", symbol_names[i]);
            return -1;
        }
    }
    out->thread_cont_entry = (uint64_t)cont_entry;
    out->thread_vthread = (uint64_t)vthread;
    out->cont_entry_size = (uint64_t)entry_size;
    out->cont_entry_return_pc = return_pc;
    out->cont_enter_special = enter_special;
    out->vthread_cont = offsets[SYM_VTHREAD_CONT];
    out->cont_tail = offsets[SYM_CONT_TAIL];
    out->chunk_sp = offsets[SYM_CHUNK_SP];
    out->chunk_bottom = offsets[SYM_CHUNK_BOTTOM];
    out->chunk_size = offsets[SYM_CHUNK_SIZE];
    out->chunk_parent = offsets[SYM_CHUNK_PARENT];
    out->chunk_stack = offsets[SYM_CHUNK_STACK];
    out->compressed_oops = compressed != 0;
    out->narrow_oop_base = base;
    out->narrow_oop_shift = (uint64_t)shift;
    /* Last: the kernel side follows a return barrier only when it is set. */
    out->cont_return_barrier = barrier;
    return 0;
}
