package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone cluster (bin/cluster: a master and two workers, each its own JVM), used
 * through the launcher users use (bin/charsight --master spark://...): prepare, then pretraining
 * during which one worker is killed with SIGKILL. The job must still finish every round, and
 * bin/cluster stop must leave none of the processes it started. Runs after packaging (failsafe),
 * since both scripts use the application jar.
 */
class StandaloneClusterIT {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @Test
  void prepareAndPretrainSurviveLosingAWorker(@TempDir Path dir) throws Exception {
    Path cluster = dir.resolve("cluster");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path corpus = Files.createDirectories(dir.resolve("corpus"));
    Files.copy(ROOT.resolve("pipeline/src/test/resources/corpus/moby-dick-loomings.txt"), corpus.resolve("loomings.txt"));
    List<Long> pids = new ArrayList<>();
    try {
      Result start = run(dir.resolve("start.log"), 180, "bin/cluster", "start", "--dir", cluster.toString(), "--port",
          String.valueOf(port), "--workers", "2", "--memory", "1536m");
      assertEquals(0, start.code(), start.log());
      String master = "spark://127.0.0.1:" + port;
      assertTrue(start.log().contains(master), start.log());
      for (String f : new String[] {"master.pid", "worker-1.pid", "worker-2.pid"}) {
        pids.add(Long.parseLong(Files.readString(cluster.resolve(f)).strip()));
      }
      for (long pid : pids) assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);

      Result prepare = run(dir.resolve("prepare.log"), 300, "bin/charsight", "prepare", "--master", master, "--input",
          corpus.toString(), "--out", dir.resolve("shards").toString(), "--tokenizer", "bytes", "--context", "64",
          "corpus.text.document=paragraphs", "prepare.val_fraction=0.15", "cluster.min_executors=2");
      assertEquals(0, prepare.code(), prepare.log());

      // Pretraining in the background; worker 2 is killed once a few rounds are done.
      Path preLog = dir.resolve("pretrain.log");
      Process pre = start(preLog, "bin/charsight", "pretrain", "--master", master, "--shards",
          dir.resolve("shards").toString(), "--out", dir.resolve("pre").toString(), "--arms", "baseline,char",
          "cluster.min_executors=2", "model.d_model=16", "model.layers=1", "model.heads=2", "model.max_token_bytes=4",
          "model.byte_embedding=4", "model.char_hidden=8", "pretrain.rounds=30", "pretrain.val_every=2",
          "pretrain.checkpoint_every=2", "pretrain.batch_per_worker=4", "pretrain.averaging_frequency=1",
          "pretrain.val_windows=8");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
      while (!read(preLog).contains("round 4/30")) {
        assertTrue(pre.isAlive(), "pretraining ended early:\n" + read(preLog));
        assertTrue(System.nanoTime() < deadline, "no round 4 within 300 s:\n" + read(preLog));
        Thread.sleep(200);
      }
      Result kill = run(dir.resolve("kill.log"), 30, "bin/cluster", "kill-worker", "2", "--dir", cluster.toString());
      assertEquals(0, kill.code(), kill.log());
      assertTrue(pre.waitFor(600, TimeUnit.SECONDS), "pretraining finishes");
      String log = read(preLog);
      assertEquals(0, pre.exitValue(), log);
      assertTrue(log.contains("Lost executor"), "the driver saw the worker's executor go:\n" + log);
      // Barrier averaging (the default) needs a task slot per worker: the chunk that lost one, and the
      // rest of the run, go to DL4J's master.
      assertTrue(log.contains("barrier averaging failed in rounds") || log.contains("task slot for 2 workers: DL4J's master"),
          "pretraining went on with DL4J's master:\n" + log);
      log.lines().filter(l -> l.contains("DL4J's master")).forEach(System.out::println);
      JsonNode manifest = new ObjectMapper().readTree(dir.resolve("pre/manifest.json").toFile());
      assertEquals(30, manifest.path("rounds").asInt(), "every round done");
      for (String arm : new String[] {"baseline", "char"}) {
        assertEquals(1 + 15, Files.readAllLines(dir.resolve("pre/" + arm + "/metrics.csv")).size(), arm);
        assertTrue(Files.size(dir.resolve("pre/" + arm + "/model.zip")) > 0);
      }
    } finally {
      Result stop = run(dir.resolve("stop.log"), 120, "bin/cluster", "stop", "--dir", cluster.toString());
      assertEquals(0, stop.code(), stop.log());
    }
    // Nothing that bin/cluster started is left: its daemons, nor executors (children of workers).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      List<String> left = ProcessHandle.allProcesses()
          .filter(p -> p.info().commandLine().map(c -> c.contains(cluster.toString())).orElse(false))
          .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
      boolean daemons = pids.stream().anyMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
      if (left.isEmpty() && !daemons) break;
      assertFalse(System.nanoTime() > deadline, "processes left after bin/cluster stop: " + left);
      Thread.sleep(500);
    }
  }

  record Result(int code, String log) {}

  private static Process start(Path log, String... cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    return pb.start();
  }

  private static Result run(Path log, int seconds, String... cmd) throws Exception {
    Process p = start(log, cmd);
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish in " + seconds + " s:\n" + read(log));
    }
    return new Result(p.exitValue(), read(log));
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }
}
