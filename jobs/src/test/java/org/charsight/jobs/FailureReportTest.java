package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.charsight.jobs.CliTest.Result;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that are damaged, a disk that fills, settings that cannot work: each ends in one line on
 * the console that names the file or key, exit 2, the stack trace in a log file, and no output.
 */
class FailureReportTest {
  static final Path LOOMINGS = Path.of("../pipeline/src/test/resources/corpus/moby-dick-loomings.txt");
  static final String[] TINY = {"model.d_model=16", "model.layers=1", "model.heads=2", "model.max_token_bytes=4",
      "model.byte_embedding=4", "model.char_hidden=8", "pretrain.batch_per_worker=4", "pretrain.averaging_frequency=1",
      "pretrain.rounds=2", "pretrain.val_every=1", "pretrain.checkpoint_every=1", "pretrain.val_windows=8"};
  private static final Pattern LOG = Pattern.compile("\\(stack trace in (\\S+)\\)$");

  /** Exit 2; the console's only charsight line is the last, names what it must, and has no trace around it. */
  static String assertOneLine(Result r, String... mentions) {
    assertEquals(2, r.code(), r.err());
    assertFalse(r.err().contains("\tat ") || r.err().contains("Caused by"), "no stack trace:\n" + r.err());
    assertEquals(1, r.err().lines().filter(l -> l.startsWith("charsight:")).count(), r.err());
    String line = r.lastErrLine();
    assertTrue(line.startsWith("charsight: "), r.err());
    for (String m : mentions) assertTrue(line.contains(m), "'" + m + "' in: " + line);
    return line;
  }

  @Test
  void corruptCorpusFilesAreNamedAndLeaveNothing(@TempDir Path dir) throws Exception {
    Path fake = Files.writeString(dir.resolve("fake.parquet"), "not parquet at all\n");
    byte[] text = Files.readAllBytes(LOOMINGS);
    Path gz = dir.resolve("loomings.txt.gz");
    try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(gz))) {
      os.write(text);
    }
    byte[] whole = Files.readAllBytes(gz);
    Path cut = Files.write(dir.resolve("cut.txt.gz"), java.util.Arrays.copyOf(whole, whole.length / 2));

    Result r = CliTest.run("prepare", "--master", "local[1]", "--input", fake.toString(), "--out",
        dir.resolve("new/deeper/out").toString(), "--tokenizer", "bytes");
    String line = assertOneLine(r, "charsight: prepare: ", fake.toString(), "not a readable Parquet file");
    Matcher m = LOG.matcher(line);
    assertTrue(m.find(), "the line points to the log: " + line);
    String log = Files.readString(Path.of(m.group(1)));
    assertTrue(log.contains("is not a Parquet file") && log.contains("\tat "), "the log keeps the stack trace");
    assertFalse(Files.exists(dir.resolve("new")), "not even the parent directories of --out are left");

    r = CliTest.run("prepare", "--master", "local[1]", "--input", cut.toString(), "--out",
        dir.resolve("new/out").toString(), "--tokenizer", "bytes");
    assertOneLine(r, "charsight: prepare: ", cut.toString(), "truncated or corrupt");
    assertFalse(Files.exists(dir.resolve("new")));
  }

  /** Shards of the Moby-Dick excerpt, bytes as tokens, context 32. */
  static Path shards(Path dir) throws Exception {
    return shards(dir, 32);
  }

  static Path shards(Path dir, int context) throws Exception {
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Files.copy(LOOMINGS, corpus.resolve("loomings.txt"));
    Path out = dir.resolve("shards");
    Result r = CliTest.run("prepare", "--master", "local[1]", "--input", corpus.toString(), "--out", out.toString(),
        "--tokenizer", "bytes", "--context", Integer.toString(context), "corpus.text.document=paragraphs", "prepare.val_fraction=0.15");
    assertEquals(0, r.code(), r.err());
    return out;
  }

  @Test
  void aHalfShardIsNamedAndPretrainLeavesNothing(@TempDir Path dir) throws Exception {
    Path shards = shards(dir);
    try (var files = Files.walk(shards)) {
      assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".crc")).toList(), "no .crc files");
    }
    Path part;
    try (var files = Files.list(shards.resolve("train"))) {
      part = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    Files.write(part, java.util.Arrays.copyOf(Files.readAllBytes(part), (int) Files.size(part) / 2));
    List<String> a = new ArrayList<>(List.of("pretrain", "--master", "local[1]", "--shards", shards.toString(), "--out",
        dir.resolve("pre").toString()));
    a.addAll(List.of(TINY));
    Result r = CliTest.run(a.toArray(String[]::new));
    assertOneLine(r, "charsight: pretrain: ", part.toString(), "not a readable Parquet file");
    assertFalse(Files.exists(dir.resolve("pre")), "a run that failed before its first checkpoint leaves no output");
  }

  @Test
  void aFullDiskIsOneLineAndLeavesNothing(@TempDir Path dir) throws Exception {
    Path mount = Files.createDirectories(dir.resolve("small-disk"));
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount.toString())
        .redirectErrorStream(true).start();
    boolean mounted = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    Assumptions.assumeTrue(mounted, "mounting a small tmpfs needs root: " + new String(p.getInputStream().readAllBytes()));
    try {
      Path corpus = Files.createDirectories(dir.resolve("corpus"));
      String text = Files.readString(LOOMINGS);
      for (int i = 0; i < 20; i++) Files.writeString(corpus.resolve("part-" + i + ".txt"), text);
      Result r = CliTest.run("prepare", "--master", "local[1]", "--input", corpus.toString(), "--out",
          mount.resolve("runs/shards").toString(), "--tokenizer", "bytes");
      assertOneLine(r, "charsight: prepare: ", "no space left on the device");
      try (var left = Files.list(mount)) {
        assertEquals(List.of(), left.toList(), "the small disk is empty again");
      }
    } finally {
      Process u = new ProcessBuilder("umount", mount.toString()).inheritIO().start();
      if (!u.waitFor(30, TimeUnit.SECONDS) || u.exitValue() != 0) {
        // A file Spark's own writer left open keeps the disk busy: detach it so the test's folder can go.
        new ProcessBuilder("umount", "-l", mount.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void settingsThatCannotWorkFailInSecondsBeforeSparkStarts(@TempDir Path dir) throws Exception {
    long t0 = System.nanoTime();
    Result r = CliTest.run("pretrain", "--shards", dir.resolve("none").toString(), "--out", dir.resolve("pre").toString(),
        "model.heads=3");
    assertEquals("charsight: model.heads: 3 does not divide model.d_model=128", r.lastErrLine());
    assertEquals(2, r.code());
    Path conf = Files.writeString(dir.resolve("x.conf"), "model { d_model = 64, heads = 3 }\n");
    r = CliTest.run("experiment", "--conf", conf.toString(), "--out", dir.resolve("run").toString());
    assertEquals("charsight: model.heads: 3 does not divide model.d_model=64", r.lastErrLine());
    r = CliTest.run("finetune", "--from", dir.toString(), "--tasks", dir.toString(), "--out", dir.resolve("ft").toString(),
        "finetune.checkpoint_every=0");
    assertEquals("charsight: finetune.checkpoint_every: expected an integer >= 1, got 0", r.lastErrLine());
    assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "three refusals within 5 s");
    assertFalse(Files.exists(dir.resolve("pre")) || Files.exists(dir.resolve("run")) || Files.exists(dir.resolve("ft")));
  }

  @Test
  void anOutputInsideItsInputIsRefused(@TempDir Path dir) throws Exception {
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Files.copy(LOOMINGS, corpus.resolve("loomings.txt"));
    Result r = CliTest.run("prepare", "--master", "local[1]", "--input", corpus.toString(), "--out",
        corpus.resolve("shards").toString(), "--tokenizer", "bytes");
    assertOneLine(r, "charsight: prepare: --out " + corpus.resolve("shards"), "overlaps the input " + corpus);
    r = CliTest.run("train-tokenizer", "--master", "local[1]", "--input", corpus.resolve("loomings.txt").toString(), "--out",
        dir.toString(), "--overwrite");
    assertOneLine(r, "it holds the input");
    assertTrue(Files.exists(corpus.resolve("loomings.txt")), "--overwrite deleted nothing");
    try (var left = Files.list(corpus)) {
      assertEquals(List.of(corpus.resolve("loomings.txt")), left.toList());
    }
  }
}
