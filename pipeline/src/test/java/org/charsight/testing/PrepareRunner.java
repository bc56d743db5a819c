package org.charsight.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.charsight.corpus.TextNormalizer;
import org.charsight.shards.Prepare;

/** Runs the prepare stage in-process the way the CLI does, and checks failures leave nothing behind. */
public final class PrepareRunner {
  private PrepareRunner() {}

  public static Map<String, Object> prepare(SparkSession spark, List<String> inputs, Path out, boolean overwrite,
      String... overrides) {
    CharsightConfig conf = CharsightConfig.load(null, List.of(overrides));
    return Prepare.run(spark, Prepare.Options.from(conf, inputs, out.toString(), overwrite), Map.of());
  }

  /** Runs prepare expecting a user error; asserts no output and no temporary directory remain. */
  public static String expectUserError(SparkSession spark, List<String> inputs, Path out, String... overrides) {
    boolean existed = Files.exists(out);
    try {
      prepare(spark, inputs, out, false, overrides);
    } catch (Throwable t) {
      UserError u = UserError.findIn(t);
      if (u == null) throw new AssertionError("expected a UserError, got " + t, t);
      assertNotNull(u.getMessage());
      assertFalse(u.getMessage().contains("\n"), "one-line message: " + u.getMessage());
      if (!existed) assertFalse(Files.exists(out), "partial output left at " + out);
      assertNoTemporaries(out.getParent());
      return u.getMessage();
    }
    return fail("prepare succeeded but should have failed");
  }

  public static void assertNoTemporaries(Path dir) {
    if (!Files.isDirectory(dir)) return;
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> tmp = s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList();
      if (!tmp.isEmpty()) fail("temporary output left behind: " + tmp);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The documents the text reader makes of a file in paragraphs mode, normalised. */
  public static List<String> paragraphs(String content) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : content.split("\n", -1)) {
      if (line.isBlank()) {
        if (cur.length() > 0) out.add(TextNormalizer.normalize(cur.toString()));
        cur.setLength(0);
      } else {
        if (cur.length() > 0) cur.append('\n');
        cur.append(line);
      }
    }
    if (cur.length() > 0) out.add(TextNormalizer.normalize(cur.toString()));
    return out;
  }

  /** The document the text reader makes of a whole file: its lines joined, the last newline dropped. */
  public static String wholeFile(String content) {
    return TextNormalizer.normalize(content.endsWith("\n") ? content.substring(0, content.length() - 1) : content);
  }
}
