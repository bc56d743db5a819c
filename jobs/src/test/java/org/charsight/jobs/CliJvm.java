package org.charsight.jobs;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command that runs the CLI in a JVM of its own, for tests that kill it. */
final class CliJvm {
  private CliJvm() {}

  /**
   * java with this JVM's classpath, Java 17 module flags (Spark's opens, the vector API's module) and -XX
   * settings, then the CLI with {@code args}.
   */
  static List<String> command(List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      boolean keep = a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:")
          || a.startsWith("-Djdk.reflect");
      if (keep) cmd.add(a);
    }
    cmd.addAll(List.of("-Xmx2g", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
        Cli.class.getName()));
    cmd.addAll(args);
    return cmd;
  }
}
