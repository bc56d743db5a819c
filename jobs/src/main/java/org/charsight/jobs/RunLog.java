package org.charsight.jobs;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A run's log file, where stack traces go so that the console keeps one line per event: under
 * {@code $CHARSIGHT_LOG_DIR}, else {@code .charsight/logs} of the checkout bin/charsight runs from,
 * else the temporary directory (spark-submit on a cluster).
 */
final class RunLog {
  private RunLog() {}

  static Path newFile(String[] args) {
    String command = "charsight";
    for (String a : args) {
      if (!a.startsWith("-") && !Cli.OVERRIDE.matcher(a).matches()) {
        command = a.replaceAll("[^A-Za-z0-9_-]", "_");
        break;
      }
    }
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    return dir().resolve(command + "-" + stamp + "-" + ProcessHandle.current().pid() + ".log");
  }

  private static Path dir() {
    String env = System.getenv("CHARSIGHT_LOG_DIR");
    if (env != null && !env.isBlank()) return Path.of(env);
    String home = System.getProperty("charsight.home");
    if (home != null) return Path.of(home, ".charsight", "logs");
    return Path.of(System.getProperty("java.io.tmpdir"), "charsight-logs");
  }

  /**
   * Appends the command line and the failure's stack trace to the log, made if it is missing.
   * Returns the log's path, or null when it cannot be written (a full disk, say): the failure's own
   * line must still reach the user.
   */
  static Path append(String logFile, String[] args, Throwable e) {
    Path file = logFile != null ? Path.of(logFile) : newFile(args);
    StringWriter trace = new StringWriter();
    try (PrintWriter w = new PrintWriter(trace)) {
      w.println(LocalDateTime.now() + " charsight " + String.join(" ", args) + " failed:");
      e.printStackTrace(w);
    }
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, trace.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      return file;
    } catch (IOException io) {
      return null;
    }
  }
}
