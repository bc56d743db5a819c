package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The experiment command as a user runs it, in its own JVM, killed with SIGKILL twice: once in
 * the middle of pretraining (after a checkpoint) and once between stages. Each restart must
 * reuse what was finished, resume pretraining from its checkpoint, and the last run must produce
 * the whole report; a further run reuses every stage.
 */
class ExperimentKillResumeTest {
  private static final String CORPUS = "../pipeline/src/test/resources/corpus";

  @Test
  void killedTwiceTheExperimentResumesAndFinishesAndThenReusesEverything(@TempDir Path dir) throws Exception {
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Files.copy(Path.of(CORPUS, "moby-dick-loomings.txt"), corpus.resolve("loomings.txt"));
    Path conf = Files.writeString(dir.resolve("tiny.conf"), String.join("\n",
        "experiment { inputs = [\"" + corpus + "\"], vocabularies = [bpe-300], arms = [baseline, char], seeds = [7] }",
        "train_tokenizer.min_chunk_count = 1",
        "corpus.text.document = paragraphs",
        "prepare { context = 96, val_fraction = 0.15 }",
        "model { d_model = 16, layers = 1, heads = 2, max_token_bytes = 4, byte_embedding = 4, char_hidden = 8 }",
        "pretrain { rounds = 40, val_every = 2, checkpoint_every = 2, batch_per_worker = 4, averaging_frequency = 1,"
            + " val_windows = 8 }",
        "tasks { families = [spell, contains_char], max_words = 12, min_word_frequency = 2, examples_per_word = 2 }",
        "finetune { rounds = 2, val_every = 1, batch_per_worker = 4, averaging_frequency = 2, val_examples = 8 }",
        "evaluate { max_examples_per_task_split = 3, max_new_tokens = 6, bootstrap_resamples = 100 }", ""));
    Path run = dir.resolve("run");
    Path pretrain = run.resolve("pretrain/bpe-300/seed-7");

    // 1. Killed during pretraining, once a checkpoint exists.
    Process p1 = start(conf, run, dir.resolve("log1.txt"));
    awaitOrFail(p1, () -> Files.exists(pretrain.resolve("position.json")), 300, dir.resolve("log1.txt"));
    kill(p1);
    assertFalse(Files.exists(pretrain.resolve("manifest.json")), "pretraining was still running when killed");

    // 2. Restarted: finished stages are reused, pretraining resumes; killed again once fine-tuning starts.
    Process p2 = start(conf, run, dir.resolve("log2.txt"));
    awaitOrFail(p2, () -> log(dir.resolve("log2.txt")).contains("] finetune finetune/bpe-300/seed-7: running"), 300,
        dir.resolve("log2.txt"));
    kill(p2);
    String log2 = log(dir.resolve("log2.txt"));
    for (String s : new String[] {"train-tokenizer tokenizers/bpe-300: reused", "prepare shards/bpe-300: reused",
        "tasks tasks/bpe-300/seed-7: reused", "pretrain pretrain/bpe-300/seed-7: resuming from its checkpoint"}) {
      assertTrue(log2.contains(s), "second run: '" + s + "' in\n" + log2);
    }
    assertTrue(log2.contains("resumes after round"), "pretraining continued from a checkpoint, not from round 0");

    // 3. Restarted again: runs to the end; everything before fine-tuning is reused.
    Process p3 = start(conf, run, dir.resolve("log3.txt"));
    assertTrue(p3.waitFor(600, TimeUnit.SECONDS), "third run finishes");
    String log3 = log(dir.resolve("log3.txt"));
    assertEquals(0, p3.exitValue(), log3);
    assertTrue(log3.contains("pretrain pretrain/bpe-300/seed-7: reused"), log3);
    assertTrue(log3.contains("finetune finetune/bpe-300/seed-7: running"), log3);
    JsonNode pre = new ObjectMapper().readTree(pretrain.resolve("manifest.json").toFile());
    assertEquals(40, pre.path("rounds").asInt());
    List<String> rounds = Files.readAllLines(pretrain.resolve("char/metrics.csv"));
    assertEquals(1 + 20, rounds.size(), "one metrics row per 2 rounds, none repeated or lost across the kills: " + rounds);
    // What the killed runs' workers left in memory (their exchange directories name their pid) is gone.
    if (Files.isDirectory(Path.of("/dev/shm"))) {
      try (var left = Files.list(Path.of("/dev/shm"))) {
        List<String> leftovers = left.map(f -> f.getFileName().toString())
            .filter(f -> f.startsWith("charsight-averaging-")
                && (f.contains("-" + p1.pid() + "-") || f.contains("-" + p2.pid() + "-")))
            .toList();
        assertEquals(List.of(), leftovers, "the killed runs' exchange files in /dev/shm");
      }
    }

    Path report = run.resolve("report");
    JsonNode manifest = new ObjectMapper().readTree(report.resolve("manifest.json").toFile());
    String md = Files.readString(report.resolve("report.md"));
    String html = Files.readString(report.resolve("index.html"));
    List<String> charts = new ArrayList<>();
    manifest.path("charts").forEach(c -> charts.add(c.asText()));
    for (String c : new String[] {"pretrain-loss-bpe-300.png", "finetune-lm-loss-bpe-300.png",
        "finetune-task-loss-bpe-300.png", "accuracy-bpe-300-val_train_words.png", "accuracy-bpe-300-val_heldout.png",
        "accuracy-bpe-300-val_nonce.png", "accuracy-vs-vocabulary.png"}) {
      assertTrue(charts.contains(c), c + " in " + charts);
      byte[] png = Files.readAllBytes(report.resolve(c));
      assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', c + " is a PNG");
      assertTrue(md.contains("(" + c + ")") && html.contains("src=\"" + c + "\""), c + " shown in report.md and index.html");
    }
    assertTrue(md.contains("| char - baseline | spell | held-out words |")
        && md.contains("| char - baseline | contains_char | held-out words |"),
        "the contrast table has a row per task:\n" + md);
    assertTrue(md.contains("| bpe-300 | 7 | char | input | letter present |")
        && md.contains("| bpe-300 | 7 | char | char encoder | letter present |"), "the spelling probe's table:\n" + md);

    // 4. Once more: nothing to do.
    Process p4 = start(conf, run, dir.resolve("log4.txt"));
    assertTrue(p4.waitFor(300, TimeUnit.SECONDS));
    String log4 = log(dir.resolve("log4.txt"));
    assertEquals(0, p4.exitValue(), log4);
    assertTrue(log4.contains("experiment: 0 stage(s) run, 8 reused"), log4);
  }

  /** The CLI in a JVM of its own, with this JVM's classpath and Java 17 module flags. */
  private static Process start(Path conf, Path out, Path log) throws IOException {
    List<String> cmd = CliJvm.command(List.of("experiment", "--conf", conf.toString(), "--out", out.toString(),
        "--master", "local[2]"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    return pb.start();
  }

  private static void kill(Process p) throws Exception {
    // SIGKILL: no shutdown hooks, no cleanup, like a lost machine or an OOM kill.
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).inheritIO().start().waitFor();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "killed process exits");
  }

  private static void awaitOrFail(Process p, BooleanSupplier condition, int seconds, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (!p.isAlive()) throw new AssertionError("the experiment ended (" + p.exitValue() + ") too early:\n" + log(log));
      if (System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new AssertionError("timed out after " + seconds + " s:\n" + log(log));
      }
      Thread.sleep(100);
    }
  }

  private static String log(Path p) {
    try {
      return new File(p.toString()).exists() ? Files.readString(p) : "";
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
