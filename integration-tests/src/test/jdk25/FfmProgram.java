import dev.memleak4j.it.programs.AwaitTracking;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

/**
 * malloc and free called through FFM (Panama) downcalls, their addresses found by name in the linker's default lookup
 * once the agent tracks: {@code args[1]} blocks of {@code args[0]} bytes kept, {@code args[3]} blocks of
 * {@code args[2]} bytes freed again. JDK 22+ API: run from source by JDK 25's launcher (the test classes are built for
 * 17), with the test classes on the class path.
 */
public final class FfmProgram {
    public static void main(String[] args) throws Throwable {
        AwaitTracking.start();
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle malloc = linker.downcallHandle(libc.find("malloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle free = linker.downcallHandle(libc.find("free").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        long keptSize = Long.parseLong(args[0]);
        int kept = Integer.parseInt(args[1]);
        long freedSize = Long.parseLong(args[2]);
        int freed = Integer.parseInt(args[3]);
        for (int i = 0; i < kept; i++) {
            MemorySegment block = (MemorySegment) malloc.invokeExact(keptSize);
            System.out.println("LEAK " + Long.toHexString(block.address()));
        }
        for (int i = 0; i < freed; i++) {
            MemorySegment block = (MemorySegment) malloc.invokeExact(freedSize);
            free.invokeExact(block);
        }
        TimeUnit.MILLISECONDS.sleep(3500); // reports every second: the last ones see the blocks
    }
}
