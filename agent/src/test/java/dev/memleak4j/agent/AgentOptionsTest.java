package dev.memleak4j.agent;

import dev.memleak4j.agent.AgentOptions.OptionException;
import dev.memleak4j.agent.report.ReportSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentOptionsTest {
    @Test
    void defaultsMirrorMemleak() {
        AgentOptions options = AgentOptions.parse(null);
        assertEquals(5, options.intervalSeconds());
        assertEquals(10, options.top());
        assertEquals(0, options.count());
        assertEquals(500, options.olderMillis());
        assertEquals(1, options.sampleRate());
        assertEquals(AgentOptions.DEFAULT_SAMPLE_BYTES, options.sampleBytes());
        assertEquals(AgentOptions.DEFAULT_MAX_TRACKED, options.maxTracked());
        assertEquals(0, options.minSize());
        assertEquals(Long.MAX_VALUE, options.maxSize());
        assertFalse(options.showAllocs());
        assertNull(options.output());
        assertNull(options.json());
        assertEquals(1 << 20, options.maxAllocs());
    }

    @Test
    void valuesSetAtRunTimeMeetTheSameRangesAsTheCommandLine() {
        assertEquals(86_400, AgentOptions.checkValue("interval", 86_400));
        OptionException tooLong = assertThrows(OptionException.class, () -> AgentOptions.checkValue("interval", 86_401));
        assertEquals("interval=86401 is out of range 1..86400", tooLong.getMessage());
        assertTrue(assertThrows(OptionException.class, () -> AgentOptions.parse("interval=86401")).getMessage()
                .startsWith("interval=86401 is out of range 1..86400; "));
        assertThrows(OptionException.class, () -> AgentOptions.checkValue("top", 0));
        assertThrows(OptionException.class, () -> AgentOptions.checkValue("sample-rate", 1L << 31));
        assertEquals((1L << 31) - 1, AgentOptions.checkValue("sample-rate", (1L << 31) - 1));
        assertThrows(IllegalArgumentException.class, () -> AgentOptions.checkValue("output", 1));
    }

    @Test
    void helpShowsTheDefaultsTheParserUses() {
        String help = AgentOptions.helpText();
        assertTrue(help.contains("[default: 8k]"), help);
        assertTrue(help.matches("(?s).*max-size=BYTES .*\\[default: unlimited\\].*"), help);
        assertTrue(help.matches("(?s).*count=N .*\\[default: unlimited\\].*"), help);
        assertTrue(help.matches("(?s).*max-allocs=N .*\\[default: 1048576\\].*"), help);
    }

    @Test
    void theReportStartsWithTheSettingsTheOptionsAskFor() {
        AgentOptions options = AgentOptions.parse("interval=2,top=7,show-allocs,older=0,min-size=4k,max-size=2m,"
                + "sample-rate=10,combined-only");
        assertEquals(new ReportSettings(2, 7, true, 0, true, 10, 0, 4096, 2 << 20), options.reportSettings());
    }

    @Test
    void everyOptionIsParsed() {
        AgentOptions options = AgentOptions.parse("interval=2, count=3,top=7,show-allocs,older=0,min-size=4k,"
                + "max-size=2m,sample-rate=10,combined-only=false,obj=/lib/libjemalloc.so.2,symbols-prefix=je_,"
                + "output=/tmp/r.txt,json=/tmp/r.json,max-allocs=1000,max-stacks=64,max-threads=128,verbose,max-tracked=0");
        assertEquals(2, options.intervalSeconds());
        assertEquals(3, options.count());
        assertEquals(7, options.top());
        assertTrue(options.showAllocs());
        assertEquals(0, options.olderMillis());
        assertEquals(4096, options.minSize());
        assertEquals(2 << 20, options.maxSize());
        assertEquals(10, options.sampleRate());
        assertFalse(options.combinedOnly());
        assertEquals(Paths.get("/lib/libjemalloc.so.2"), options.obj());
        assertEquals("je_", options.symbolsPrefix());
        assertEquals(Paths.get("/tmp/r.txt"), options.output());
        assertEquals(Paths.get("/tmp/r.json"), options.json());
        assertEquals(1000, options.maxAllocs());
        assertEquals(64, options.maxStacks());
        assertEquals(128, options.maxThreads());
        assertTrue(options.verbose());
        assertEquals(0, options.maxTracked());
        assertEquals(2500, AgentOptions.parse("max-tracked=2500").maxTracked());
    }

    @Test
    void samplingByCountReplacesTheDefaultSamplingByBytes() {
        assertEquals(0, AgentOptions.parse("sample-rate=10").sampleBytes());
        assertEquals(10, AgentOptions.parse("sample-rate=10").sampleRate());
        assertEquals(0, AgentOptions.parse("sample-bytes=0").sampleBytes());
        assertThrows(OptionException.class, () -> AgentOptions.parse("sample-rate=10,sample-bytes=64k"));
    }

    @Test
    void unknownKeyNamesTheClosestKnownOne() {
        OptionException e = assertThrows(OptionException.class, () -> AgentOptions.parse("intervl=5"));
        assertTrue(e.getMessage().contains("unknown option 'intervl' (did you mean 'interval'?)"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"interval=0", "interval=x", "top=-1", "count=0", "interval=5,interval=6",
            "min-size=10,max-size=5", "min-size=-4", "max-size=99999999999g", "sample-rate=0", "show-allocs=maybe",
            "output=", "json=", "json", "obj", "interval", "sample-rate=18446744073709551616", "max-tracked=-1", "max-tracked=1k", "\u0000\u0001=\u0002"})
    void badValuesAreRejectedWithTheOptionNamed(String arguments) {
        OptionException e = assertThrows(OptionException.class, () -> AgentOptions.parse(arguments));
        assertFalse(e.getMessage().isBlank());
        assertFalse(e.getMessage().contains("\n"), "one line");
        assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c < 0x7f), "printable: " + e.getMessage());
    }

    @Test
    void outputFormatsAreFilesAndAskForEveryStack() {
        AgentOptions none = AgentOptions.parse("json=/tmp/r.json");
        assertNull(none.flamegraph());
        assertNull(none.pprof());
        assertNull(none.jfrFile());
        assertFalse(none.wantsAllStacks());
        AgentOptions all = AgentOptions.parse("flamegraph=/tmp/f.html,pprof=/tmp/p.pb.gz,jfr-file=/tmp/r.jfr");
        assertEquals(Paths.get("/tmp/f.html"), all.flamegraph());
        assertEquals(Paths.get("/tmp/p.pb.gz"), all.pprof());
        assertEquals(Paths.get("/tmp/r.jfr"), all.jfrFile());
        assertTrue(all.wantsAllStacks());
        assertTrue(AgentOptions.parse("pprof=p.pb.gz").wantsAllStacks());
        OptionException empty = assertThrows(OptionException.class, () -> AgentOptions.parse("flamegraph="));
        assertTrue(empty.getMessage().startsWith("flamegraph needs a value"), empty.getMessage());
        OptionException typo = assertThrows(OptionException.class, () -> AgentOptions.parse("flamegrap=x.html"));
        assertTrue(typo.getMessage().contains("did you mean 'flamegraph'"), typo.getMessage());
    }

    @Test
    void helpListsEveryOption() {
        String help = AgentOptions.helpText();
        for (String name : AgentOptions.names()) {
            assertTrue(help.contains("  " + name), name);
        }
    }

    @Test
    void optionsThatDoNotCombineAreWarnedAbout() {
        assertEquals(2, AgentOptions.parse("combined-only,older=10,show-allocs").warnings().size());
        assertTrue(AgentOptions.parse("top=3").warnings().isEmpty());
    }

    @Test
    void ownersAreClassesWithTheirHandleFields() {
        assertEquals("none", AgentOptions.parse(null).owners()); // off by default: it loads Byte Buddy
        assertEquals("jdk", AgentOptions.parse("owners=JDK").owners());
        assertEquals("none", AgentOptions.parse("owners=NONE").owners());
        assertEquals("org.rocksdb.RocksObject#nativeHandle_:a.B$C", AgentOptions.parse(
                "owners=org.rocksdb.RocksObject#nativeHandle_:a.B$C").owners());
        for (String bad : List.of("a#b#c", "a.#x", "a:", "a#", "a b")) {
            OptionException e = assertThrows(OptionException.class, () -> AgentOptions.parse("owners=" + bad), bad);
            assertTrue(e.getMessage().startsWith("owners=") && e.getMessage().contains("CLASS#FIELD"), e.getMessage());
        }
    }

    @Test
    void jniClassesAreGlobsSeparatedByColons() {
        assertEquals(AgentOptions.DEFAULT_JNI_CLASSES, AgentOptions.parse(null).jniClasses());
        assertEquals("none", AgentOptions.DEFAULT_JNI_CLASSES);
        assertEquals("java.util.zip.Inflater:java.util.zip.Deflater",
                AgentOptions.parse("jni-classes=java.util.zip.Inflater:java.util.zip.Deflater").jniClasses());
        assertEquals("none", AgentOptions.parse("jni-classes=NONE").jniClasses());
        assertEquals("org.rocksdb.*:com.example.Native?", AgentOptions.parse("jni-classes=org.rocksdb.*:com.example.Native?")
                .jniClasses());
        for (String bad : new String[] {"jni-classes=", "jni-classes", "jni-classes=a::b", "jni-classes=a/b",
                "jni-classes=org.x;y"}) {
            OptionException e = assertThrows(OptionException.class, () -> AgentOptions.parse(bad), bad);
            assertTrue(e.getMessage().contains("jni-classes"), e.getMessage());
        }
    }
}
