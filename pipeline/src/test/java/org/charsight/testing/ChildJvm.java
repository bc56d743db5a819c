package org.charsight.testing;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/** The command that runs a main class in a JVM of its own, with this test JVM's classpath and options. */
public final class ChildJvm {
  private ChildJvm() {}

  /**
   * {@code main} with {@code args}; {@code fullJit}: without the tests' cap on the JIT compilers
   * ({@code -XX:TieredStopAtLevel}), so that C2 compiles what the child runs as it would in a run.
   */
  public static List<String> command(boolean fullJit, Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElseThrow());
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("-agentlib") || arg.startsWith("-javaagent")) continue;
      if (fullJit && arg.startsWith("-XX:TieredStopAtLevel")) continue;
      cmd.add(arg);
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }
}
