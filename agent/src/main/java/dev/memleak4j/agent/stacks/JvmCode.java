package dev.memleak4j.agent.stacks;

/** What the JVM says a stack value is: the code map and VMStructs name it, or do not know it. */
public enum JvmCode {
    /** A Java frame the JVM names: a compiled method (or a native method's wrapper), or an interpreted Method*. */
    JAVA,
    /** One of the JVM's stubs ({@code call_stub}, adapters, the interpreter's entries ...). */
    STUB,
    /** Not code the JVM knows. */
    NONE
}
