package dev.memleak4j.agent;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class OwnCodeCompilationTest {

    @Test
    void aPathWithABlankIsOneQuotedArgumentOfTheDiagnosticCommand() {
        assertEquals("/tmp/memleak4j-directives-1/directives.json",
                OwnCodeCompilation.argument("/tmp/memleak4j-directives-1/directives.json"));
        assertEquals("\"/tmp/with space/d/directives.json\"",
                OwnCodeCompilation.argument("/tmp/with space/d/directives.json"));
        assertEquals("\"/tmp/tab\there\"", OwnCodeCompilation.argument("/tmp/tab\there"));
    }

    @Test
    void aPathWithABlankAndAQuoteIsRefusedRatherThanSplit() {
        assertThrows(IllegalArgumentException.class, () -> OwnCodeCompilation.argument("/tmp/a \"b\""));
    }
}
