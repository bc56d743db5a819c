package org.charsight.common;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipException;
import org.apache.hadoop.fs.ChecksumException;

/**
 * What a failed stage tells its user: one line and an exit code, worked out from whatever was
 * thrown, however deep Spark buried it (a task failure reaches the driver as a SparkException whose
 * cause is the executor's exception, itself often wrapping the one that matters).
 *
 * <p>Exit 2 is the user's to fix: a {@link UserError}, or a file that cannot be read as what it
 * should be (not Parquet, a truncated archive, a checksum mismatch, an unreadable model), a full disk
 * or a permission denied. The line names the file when any message in the chain names one. Exit 1
 * is a defect in charsight or a library. Either way the full stack trace belongs in a log file, not
 * on the console.
 */
public record Failure(int exitCode, String line, boolean pointsToLog) {
  public static final int BAD_INPUT = 2;
  public static final int INTERNAL = 1;

  /** A URI or absolute path in a message; the first one in the chain names the file. */
  private static final Pattern PATH = Pattern.compile("((?:file|hdfs|s3a?|gs|abfss?|wasbs?|viewfs):/[^\\s,;'\"\\]\\[)]+|(?<![\\w.])/[\\w.@%+=-]+(?:/[\\w.@%+=-]+)+)");

  public static Failure of(String command, Throwable t) {
    UserError u = UserError.findIn(t);
    // charsight's own message says all the user needs; the trace still goes to the log.
    if (u != null) return new Failure(BAD_INPUT, u.getMessage(), false);
    List<Throwable> chain = chain(t);
    String file = firstPath(chain);
    String what = badInput(chain);
    String where = command + ": " + (file == null ? "" : file + ": ");
    if (what != null) return new Failure(BAD_INPUT, where + what, true);
    Throwable root = chain.get(chain.size() - 1);
    if (anyIs(chain, OutOfMemoryError.class)) {
      return new Failure(INTERNAL, command + ": out of memory (" + root.getMessage()
          + "); give the driver more with CHARSIGHT_DRIVER_MEMORY or executors more with spark.conf", true);
    }
    return new Failure(INTERNAL, command + ": internal error: " + describe(root), true);
  }

  /** The line as printed, pointing to the log that keeps the stack trace (null: no log). */
  public String printed(String logFile) {
    // Messages made from a library's (a JSON parser's, say) may run on over several lines: their first says what.
    String first = line.strip().lines().findFirst().orElse("").strip();
    return "charsight: " + first + (pointsToLog && logFile != null ? " (stack trace in " + logFile + ")" : "");
  }

  /** What is wrong, for a failure the user can fix; null when nothing in the chain says so. */
  private static String badInput(List<Throwable> chain) {
    for (Throwable c : chain) {
      String m = String.valueOf(c.getMessage());
      String lower = m.toLowerCase(Locale.ROOT);
      if (lower.contains("no space left on device") || lower.contains("disk quota exceeded")) {
        return "no space left on the device (free some, or write --out elsewhere; Spark's scratch space is spark.local.dir)";
      }
      if (c instanceof AccessDeniedException || lower.contains("permission denied")) {
        return "permission denied (" + m + ")";
      }
      if (m.contains("is not a Parquet file") || m.contains("CANNOT_READ_FILE_FOOTER")
          || c.getClass().getName().equals("org.apache.parquet.io.ParquetDecodingException")) {
        return "not a readable Parquet file (not Parquet, or cut short or damaged); if a charsight stage wrote it, rerun that stage";
      }
      if (c instanceof ChecksumException) {
        return "checksum mismatch: the file was changed or damaged after it was written; rerun the stage that wrote it";
      }
      if (c instanceof EOFException || c instanceof ZipException) {
        return "truncated or corrupt (" + describe(c) + "); replace the file or leave it out";
      }
      if (c instanceof CharacterCodingException) return "not valid text (" + describe(c) + ")";
      if (c instanceof FileNotFoundException) return "not found (" + m + "); was it removed while charsight ran?";
    }
    return null;
  }

  static List<Throwable> chain(Throwable t) {
    List<Throwable> out = new ArrayList<>();
    for (Throwable c = t; c != null && !out.contains(c); c = c.getCause()) out.add(c);
    return out;
  }

  private static boolean anyIs(List<Throwable> chain, Class<? extends Throwable> type) {
    return chain.stream().anyMatch(type::isInstance);
  }

  static String firstPath(List<Throwable> chain) {
    for (Throwable c : chain) {
      if (c.getMessage() == null) continue;
      Matcher m = PATH.matcher(c.getMessage());
      if (m.find()) return m.group(1).replaceAll("[.:]+$", "");
    }
    return null;
  }

  /** The exception's own first line, with its type when the message alone would not say what it is. */
  private static String describe(Throwable t) {
    String m = t.getMessage();
    String first = m == null ? "" : m.strip().lines().findFirst().orElse("");
    return first.isEmpty() ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + first;
  }
}
