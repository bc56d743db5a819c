package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.charsight.jobs.CliTest.Result;
import org.charsight.model.LanguageModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning killed with SIGKILL in its own JVM after a checkpoint, then resumed with --resume,
 * ends with the same parameters and the same logged losses as a run that was never interrupted.
 */
class FinetuneKillResumeTest {
  static final List<String> CONF = List.of("model.d_model=16", "model.layers=1", "model.heads=2", "model.max_token_bytes=4",
      "model.byte_embedding=4", "model.char_hidden=8", "pretrain.batch_per_worker=4", "pretrain.averaging_frequency=1",
      "pretrain.rounds=2", "pretrain.val_every=1", "pretrain.checkpoint_every=1", "pretrain.val_windows=8",
      "pretrain.arms=[baseline, char]", "tasks.families=[spell, contains_char]", "tasks.max_words=12",
      "tasks.min_word_frequency=2", "tasks.examples_per_word=2", "finetune.rounds=12", "finetune.val_every=2",
      "finetune.checkpoint_every=2", "finetune.batch_per_worker=4", "finetune.averaging_frequency=2",
      "finetune.val_examples=8");

  static Result cli(String... args) {
    List<String> a = new ArrayList<>(List.of(args));
    a.addAll(List.of("--master", "local[2]"));
    a.addAll(CONF);
    return CliTest.run(a.toArray(String[]::new));
  }

  @Test
  void killedFinetuneResumesToTheSameModels(@TempDir Path dir) throws Exception {
    Path shards = FailureReportTest.shards(dir, 128);
    Path tasks = dir.resolve("tasks");
    Path pre = dir.resolve("pre");
    assertEquals(0, cli("tasks", "--shards", shards.toString(), "--out", tasks.toString()).code());
    assertEquals(0, cli("pretrain", "--shards", shards.toString(), "--out", pre.toString()).code());
    Path straight = dir.resolve("straight");
    Result r = cli("finetune", "--from", pre.toString(), "--tasks", tasks.toString(), "--out", straight.toString());
    assertEquals(0, r.code(), r.err());

    Path killed = dir.resolve("killed");
    Path log = dir.resolve("killed.log");
    Process p = start(log, "finetune", "--from", pre.toString(), "--tasks", tasks.toString(), "--out", killed.toString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
    while (round(killed) < 4) {
      assertTrue(p.isAlive(), "finetune ended before it was killed:\n" + Files.readString(log));
      assertTrue(System.nanoTime() < deadline, "no checkpoint within 300 s:\n" + Files.readString(log));
      Thread.sleep(20);
    }
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).inheritIO().start().waitFor();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertFalse(Files.exists(killed.resolve("manifest.json")), "killed before the end:\n" + Files.readString(log));
    int at = round(killed);
    assertTrue(at < 12, "killed before the last round, at " + at);

    r = cli("finetune", "--from", pre.toString(), "--tasks", tasks.toString(), "--out", killed.toString());
    assertEquals(2, r.code(), "a plain rerun does not start over a stopped run: " + r.err());
    assertTrue(r.lastErrLine().contains("pass --resume to continue it or --overwrite"), r.err());
    r = cli("finetune", "--from", pre.toString(), "--tasks", tasks.toString(), "--out", killed.toString(), "--resume");
    assertEquals(0, r.code(), r.err());

    for (String arm : new String[] {"baseline", "char"}) {
      LanguageModel a = LanguageModel.load(straight.resolve(arm + "/model.zip").toFile());
      LanguageModel b = LanguageModel.load(killed.resolve(arm + "/model.zip").toFile());
      assertEquals(a.graph().getIterationCount(), b.graph().getIterationCount(), arm);
      assertEquals(0.0, a.graph().params().sub(b.graph().params()).amaxNumber().doubleValue(), arm + " parameters");
      assertEquals(withoutWallTime(straight.resolve(arm + "/metrics.csv")), withoutWallTime(killed.resolve(arm + "/metrics.csv")),
          arm + ": the same losses at every logged round, none twice");
    }
  }

  private static int round(Path out) throws IOException {
    Path pos = out.resolve("position.json");
    if (!Files.exists(pos)) return 0;
    try {
      return new ObjectMapper().readTree(pos.toFile()).path("round").asInt();
    } catch (IOException e) {
      return 0; // being replaced
    }
  }

  private static List<String> withoutWallTime(Path csv) throws IOException {
    return Files.readAllLines(csv).stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
  }

  /** The CLI in a JVM of its own, with this JVM's classpath and Java 17 module flags. */
  private static Process start(Path log, String... args) throws IOException {
    List<String> cmd = CliJvm.command(List.of(args));
    cmd.addAll(List.of("--master", "local[2]"));
    cmd.addAll(CONF);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }
}
