package dev.memleak4j.it;

import java.nio.file.Files;

/** The same exact results on JDK 25. */
class AllocatorFunctionsJdk25Test extends AllocatorFunctionsTest {
    @Override
    String java() {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        return AgentRun.JDK25.toString();
    }
}
