package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  record Result(int code, String out, String err) {
    String lastErrLine() {
      String[] lines = err.strip().split("\n");
      return lines[lines.length - 1];
    }
  }

  static synchronized Result run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Cli.run(args);
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void helpListsEveryCommand() {
    Result r = run("--help");
    assertEquals(0, r.code());
    for (String c : new String[] {"train-tokenizer", "prepare", "pretrain", "export", "export-weights", "fetch-corpus", "key=value"}) {
      assertTrue(r.out().contains(c), "help mentions " + c + ":\n" + r.out());
    }
  }

  @Test
  void commandHelpListsItsOptions() {
    Result r = run("prepare", "--help");
    assertEquals(0, r.code());
    for (String o : new String[] {"--input", "--out", "--tokenizer", "--context", "--master", "--conf", "--overwrite"}) {
      assertTrue(r.out().contains(o), o + " in:\n" + r.out());
    }
  }

  @Test
  void missingRequiredOptionIsAUsageError() {
    Result r = run("prepare", "--out", "x");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("Missing required option: '--input=<path>'"), r.err());
  }

  @Test
  void badInputExitsNonZeroWithOneLineNamingThePath(@TempDir Path dir) {
    Path missing = dir.resolve("missing");
    Result r = run("prepare", "--master", "local[1]", "--input", missing.toString(), "--out", dir.resolve("out").toString());
    assertEquals(2, r.code());
    assertEquals("charsight: prepare: input path does not exist: " + missing, r.lastErrLine());
    assertFalse(Files.exists(dir.resolve("out")));
  }

  @Test
  void unknownConfKeyExitsNonZero(@TempDir Path dir) {
    Result r = run("prepare", "--input", dir.toString(), "--out", dir.resolve("o").toString(), "prepare.contxt=3");
    assertEquals(2, r.code());
    assertTrue(r.lastErrLine().startsWith("charsight: unknown conf key 'prepare.contxt' in the command line"), r.err());
  }

  @Test
  void executorSideErrorsAlsoEndInOneLine(@TempDir Path dir) throws Exception {
    Files.write(dir.resolve("bin.txt"), new byte[] {1, 2, 0, 4});
    Result r = run("prepare", "--master", "local[1]", "--input", dir.resolve("bin.txt").toString(),
        "--out", dir.resolve("out").toString());
    assertEquals(2, r.code());
    assertTrue(r.lastErrLine().startsWith("charsight: prepare: ") && r.lastErrLine().contains("NUL byte"), r.err());
    assertFalse(Files.exists(dir.resolve("out")));
  }

  @Test
  void trainTokenizerThenPrepareWithIt(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.txt"), "the cat sat on the mat. the cat ate the rat. ".repeat(20));
    String tok = dir.resolve("tok").toString();
    Result r = run("train-tokenizer", "--master", "local[1]", "--input", dir.resolve("a.txt").toString(), "--out", tok,
        "--vocab-size", "270");
    assertEquals(0, r.code(), r.err());
    assertEquals(268, Files.readAllLines(Path.of(tok, "tokenizer.tiktoken")).size());
    r = run("prepare", "--master", "local[1]", "--input", dir.resolve("a.txt").toString(), "--out",
        dir.resolve("shards").toString(), "--tokenizer", tok);
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.readString(dir.resolve("shards/manifest.json")).contains("\"vocab_size\" : 270"));
    r = run("train-tokenizer", "--input", dir.resolve("a.txt").toString(), "--out", dir.resolve("t2").toString(),
        "--vocab-size", "100");
    assertEquals(2, r.code());
    assertTrue(r.lastErrLine().contains("must be at least 258"), r.err());
  }

  @Test
  void exportWeightsWritesOneNpyPerParameter(@TempDir Path dir) throws Exception {
    var config = new org.charsight.model.GptConfig(org.charsight.model.Arch.BASELINE, 20, 8, 16, 1, 2, 0, 0.02, 4, 4, 4,
        1e-3, 1e-4, 1, 10, 0, 0.9, 0.95, 1, 1, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    java.util.List<byte[]> vocab = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) vocab.add(new byte[] {(byte) ('a' + i)});
    var m = org.charsight.model.LanguageModel.create(config, vocab);
    java.io.File f = dir.resolve("m.zip").toFile();
    m.save(f);
    Result r = run("export-weights", "--model", f.toString(), "--out", dir.resolve("w").toString());
    assertEquals(0, r.code(), r.err());
    try (var files = Files.list(dir.resolve("w"))) {
      assertEquals(m.graph().paramTable().size(), files.filter(p -> p.toString().endsWith(".npy")).count());
    }
    r = run("export-weights", "--model", dir.resolve("missing.zip").toString(), "--out", dir.resolve("w2").toString());
    assertEquals(2, r.code());
    assertEquals("charsight: model file not found: " + dir.resolve("missing.zip"), r.lastErrLine());
  }

  @Test
  void prepareAndExportRunEndToEnd(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.txt"), "Call me Ishmael. Some years ago, never mind how long precisely.");
    Files.writeString(dir.resolve("b.txt"), "It is a way I have of driving off the spleen.");
    String out = dir.resolve("shards").toString();
    Result r = run("prepare", "--master", "local[1]", "--input", dir.resolve("a.txt").toString(),
        dir.resolve("b.txt").toString(), "--out", out, "--tokenizer", "bytes", "--context", "16",
        "prepare.val_fraction=0.01");
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.exists(Path.of(out, "manifest.json")));
    String manifest = Files.readString(Path.of(out, "manifest.json"));
    assertTrue(manifest.contains("\"context\" : 16") && manifest.contains("\"name\" : \"bytes\""), manifest);

    r = run("export", "--master", "local[1]", "--format", "nanogpt", "--shards", out);
    assertEquals(0, r.code(), r.err());
    long bytes = Files.size(Path.of(out, "nanogpt", "train.bin")) + Files.size(Path.of(out, "nanogpt", "val.bin"));
    // Both documents (63 + 45 bytes) plus one end-of-text each, two bytes per token.
    assertEquals(2 * (63 + 1 + 45 + 1), bytes);

    r = run("export", "--format", "gguf", "--shards", out);
    assertEquals(2, r.code());
    assertEquals("charsight: export: unknown --format 'gguf'; expected nanogpt", r.lastErrLine());
  }

  @Test
  void experimentChecksEveryStagesSettingsBeforeRunningAnything(@TempDir Path dir) throws Exception {
    Path conf = Files.writeString(dir.resolve("bad.conf"),
        "experiment { inputs = [\"" + dir + "\"], vocabularies = [bpe-300] }\nevaluate.bootstrap_resamples = 5\n");
    Result r = run("experiment", "--conf", conf.toString(), "--out", dir.resolve("run").toString(), "--master", "local[1]");
    assertEquals(2, r.code(), r.err());
    assertEquals("charsight: evaluate.bootstrap_resamples: expected an integer >= 100, got 5", r.lastErrLine());
    assertFalse(Files.exists(dir.resolve("run")), "nothing written");

    Path vocab = Files.writeString(dir.resolve("vocab.conf"), "experiment.vocabularies = [bpe-300, unigram-8k]\n");
    r = run("experiment", "--conf", vocab.toString(), "--out", dir.resolve("run").toString(), "--master", "local[1]");
    assertEquals(2, r.code(), r.err());
    assertEquals("charsight: experiment.vocabularies: expected bpe-<size>, gpt2 or bytes, got 'unigram-8k'", r.lastErrLine());
    r = run("experiment", "--conf", vocab.toString(), "--force", "pretraining");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.lastErrLine().startsWith("charsight: --force: expected one of [train-tokenizer, prepare"), r.err());
  }

  @Test
  void anUnreachableMasterFailsInSecondsAndMissingExecutorsTimeOut(@TempDir Path dir) throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    long t0 = System.nanoTime();
    Result r = run("prepare", "--master", "spark://127.0.0.1:" + port, "--input", dir.toString(), "--out",
        dir.resolve("out").toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.lastErrLine().startsWith("charsight: --master spark://127.0.0.1:" + port + ": cannot connect to 127.0.0.1:"
        + port + " within 5 s"), r.err());
    assertTrue(System.nanoTime() - t0 < 15_000_000_000L, "fails in seconds, not after Spark's minute of retries");

    // Spark's own refusal of the settings is one line too.
    r = run("prepare", "--master", "local-cluster[1,1,512]", "--input", dir.toString(), "--out",
        dir.resolve("out").toString(), "spark.conf.spark.executor.memory=2g");
    assertEquals(2, r.code(), r.err());
    assertEquals("charsight: --master local-cluster[1,1,512]: Spark cannot start: Asked to launch cluster with 512 MiB/worker"
        + " but requested 2048 MiB/executor", r.lastErrLine());

    // Executors that need more cores than the worker has never start: a message, not a hang.
    r = run("prepare", "--master", "local-cluster[1,1,1024]", "--input", dir.toString(), "--out",
        dir.resolve("out").toString(), "spark.conf.spark.executor.cores=2", "cluster.executor_wait_seconds=8");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.lastErrLine().startsWith("charsight: --master local-cluster[1,1,1024]: only 0 of 1 executor(s) registered"
        + " within 8 s"), r.err());
    assertFalse(Files.exists(dir.resolve("out")));
  }
}
