package dev.memleak4j.agent.owners;

import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.type.TypeDescription;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The owners option and how a named class's handle field is found. */
class OwnersTest {
    static class Handle {
        protected final long nativeHandle;
        final int size = 0;
        static long instances;

        Handle(long nativeHandle) {
            this.nativeHandle = nativeHandle;
        }
    }

    static class SubHandle extends Handle {
        SubHandle() {
            super(1);
        }
    }

    static class TwoLongs {
        long a;
        long b;
    }

    @Test
    void theOptionNamesClassesAndTheirFields() {
        assertEquals(Map.of("org.rocksdb.RocksObject", "nativeHandle_", "com.example.Db", ""),
                Owners.parse("org.rocksdb.RocksObject#nativeHandle_:com.example.Db"));
        assertEquals(Map.of(), Owners.parse("jdk"));
        assertEquals(Map.of(), Owners.parse("none"));
        assertTrue(Owners.off("none"));
        assertFalse(Owners.off("jdk"));
    }

    @Test
    void theHandleIsTheNamedLongFieldOrTheOnlyOneUpTheHierarchy() {
        TypeDescription sub = TypeDescription.ForLoadedType.of(SubHandle.class);
        FieldDescription named = OwnerWeaver.handleField(sub, "nativeHandle");
        assertEquals("nativeHandle", named.getName());
        assertEquals("nativeHandle", OwnerWeaver.handleField(sub, "").getName(), "the only instance long field");
        assertNull(OwnerWeaver.handleField(sub, "size"), "not a long");
        assertNull(OwnerWeaver.handleField(sub, "instances"), "static");
        assertNull(OwnerWeaver.handleField(TypeDescription.ForLoadedType.of(TwoLongs.class), ""), "which one?");
        assertEquals("b", OwnerWeaver.handleField(TypeDescription.ForLoadedType.of(TwoLongs.class), "b").getName());
    }

    @Test
    void theJdksOwnersFreeTheirBlocksWithACleaner() {
        assertTrue(Owners.cleanerManaged(ByteBuffer.allocateDirect(1).getClass()));
        assertTrue(Owners.cleanerManaged(Inflater.class));
        assertTrue(Owners.cleanerManaged(Deflater.class));
        assertFalse(Owners.cleanerManaged(Handle.class));
    }
}
