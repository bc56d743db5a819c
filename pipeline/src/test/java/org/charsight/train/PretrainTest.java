package org.charsight.train;

import static org.charsight.testing.TrainingFixtures.pretrain;
import static org.charsight.testing.TrainingFixtures.shards;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.charsight.model.LanguageModel;
import org.charsight.testing.PrepareRunner;
import org.charsight.testing.SparkTestSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PretrainTest {
  static List<double[]> metrics(Path csv) throws IOException {
    List<String> lines = Files.readAllLines(csv);
    assertEquals(Pretrain.METRICS_HEADER, lines.get(0));
    return lines.stream().skip(1).map(l -> java.util.Arrays.stream(l.split(",")).mapToDouble(Double::parseDouble).toArray())
        .toList();
  }

  @Test
  void bothArmsTrainInLockStepAndValidationLossFalls(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=8", "pretrain.arms=[baseline, char]");
    for (String arm : new String[] {"baseline", "char"}) {
      List<double[]> rows = metrics(dir.resolve("run/" + arm + "/metrics.csv"));
      assertEquals(4, rows.size(), arm + ": one row per 2 rounds");
      assertEquals(8, rows.get(3)[0]);
      assertTrue(rows.get(3)[4] < rows.get(0)[4], arm + " validation loss falls: " + rows.get(0)[4] + " -> " + rows.get(3)[4]);
      // same rounds, same windows: both arms have seen the same number of tokens at every row
      assertTrue(Files.exists(dir.resolve("run/" + arm + "/model.zip")));
      LanguageModel m = LanguageModel.load(dir.resolve("run/" + arm + "/model.zip").toFile());
      assertEquals(arm, m.config().arch().confName);
    }
    assertTrue(Files.readString(dir.resolve("run/manifest.json")).contains("\"stage\" : \"pretrain\""));
    // finetune follows this record, perhaps from another working directory
    assertEquals("file:" + shards, org.charsight.common.Manifest.json().readTree(dir.resolve("run/manifest.json").toFile())
        .path("shards").asText());
  }

  /**
   * A round is 2 workers x 2 minibatches of 4 windows, a chunk 2 rounds: the epoch's last chunk holds its last
   * windows and the next epoch's first. It trains all its rounds, as every chunk does (it used to stop at the
   * epoch's end and count the rounds all the same).
   */
  @Test
  void aChunkAcrossAnEpochsEndTrainsEveryRound(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    long windows = org.charsight.shards.ShardSet.open(spark, shards.toString()).windows("train");
    int rounds = (int) (windows / 32 + 1) * 2;
    assertTrue(windows % 32 != 0, "the epoch ends inside a chunk: " + windows + " windows");
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=" + rounds, "pretrain.arms=[baseline]");
    List<double[]> rows = metrics(dir.resolve("run/baseline/metrics.csv"));
    assertEquals(rounds / 2, rows.size(), "one row per 2 rounds");
    for (double[] row : rows) {
      assertEquals(2 * row[0], row[1], "steps after round " + row[0] + " (2 a round)");
      assertEquals(row[0] * 16 * 32, row[2], "tokens after round " + row[0]);
    }
  }

  /**
   * Barrier averaging is DL4J's parameter averaging done elsewhere: the same split of each chunk into
   * rounds, the same minibatches, the same means. Both arms, more than one chunk, and a chunk whose
   * split needs DL4J's seeded shuffle (4 minibatches per worker over 2 rounds): bit for bit the same models.
   */
  @Test
  void barrierAveragingTrainsExactlyTheModelsOfDl4jsMaster(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    String[] run = {"pretrain.rounds=6", "pretrain.arms=[baseline, char]"};
    pretrain(spark, shards, dir.resolve("dl4j"), false, with(run, "pretrain.averaging=dl4j"));
    pretrain(spark, shards, dir.resolve("barrier"), false, with(run, "pretrain.averaging=barrier"));
    for (String arm : new String[] {"baseline", "char"}) {
      LanguageModel a = LanguageModel.load(dir.resolve("dl4j/" + arm + "/model.zip").toFile());
      LanguageModel b = LanguageModel.load(dir.resolve("barrier/" + arm + "/model.zip").toFile());
      assertEquals(12, b.graph().getIterationCount(), arm + ": 6 rounds of 2 steps");
      assertEquals(a.graph().getIterationCount(), b.graph().getIterationCount());
      // float[] comparisons are exact (INDArray.equals allows 1e-5)
      assertArrayEquals(a.graph().params().toFloatVector(), b.graph().params().toFloatVector(), arm + ": identical parameters");
      assertArrayEquals(a.graph().getUpdater().getStateViewArray().toFloatVector(),
          b.graph().getUpdater().getStateViewArray().toFloatVector(), arm + ": identical Adam state");
      List<String> ma = Files.readAllLines(dir.resolve("dl4j/" + arm + "/metrics.csv"));
      List<String> mb = Files.readAllLines(dir.resolve("barrier/" + arm + "/metrics.csv"));
      assertEquals(4, mb.size());
      for (int i = 1; i < ma.size(); i++) {
        // round, step, tokens, train loss, validation loss, learning rate: all but the timings
        String[] ra = ma.get(i).split(","), rb = mb.get(i).split(",");
        assertEquals(List.of(ra).subList(0, 6), List.of(rb).subList(0, 6), arm + " row " + i);
      }
    }
    assertFalse(Files.exists(dir.resolve("barrier/" + BarrierAveraging.EXCHANGE)), "the exchange files are removed");
    assertFalse(Files.exists(memoryExchange(dir.resolve("barrier"))), "the exchange files in memory are removed");
  }

  /** Where a local master's workers exchange their vectors for the stage writing to {@code out} (a small model). */
  private static Path memoryExchange(Path out) {
    org.apache.hadoop.fs.Path shared = new org.apache.hadoop.fs.Path(
        new org.apache.hadoop.fs.Path("file:" + out.toAbsolutePath()), BarrierAveraging.EXCHANGE);
    return Path.of(MemoryExchange.dir("local[2]", shared, 1 << 20, 2).toUri().getPath());
  }

  @Test
  void localWorkersExchangeInMemoryWhenThereIsRoomAndClusterWorkersUnderTheOutput() {
    org.apache.hadoop.fs.Path shared = new org.apache.hadoop.fs.Path("file:/data/run/_averaging");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(MemoryExchange.MEMORY), "this machine has /dev/shm");
    org.apache.hadoop.fs.Path local = MemoryExchange.dir("local[2]", shared, 1 << 20, 2);
    assertTrue(local.toUri().getPath().startsWith("/dev/shm/charsight-averaging-"), local.toString());
    assertEquals(local, MemoryExchange.dir("local-cluster[2,1,1024]", shared, 1 << 20, 2), "the same place each time");
    assertTrue(!local.equals(MemoryExchange.dir("local[2]", new org.apache.hadoop.fs.Path("file:/data/other/_averaging"),
        1 << 20, 2)), "another output, another place");
    assertEquals(shared, MemoryExchange.dir("spark://host:7077", shared, 1 << 20, 2), "executors on other machines");
    assertEquals(shared, MemoryExchange.dir("yarn", shared, 1 << 20, 2));
    assertEquals(shared, MemoryExchange.dir("local[2]", shared, Long.MAX_VALUE / 64, 2), "no room in memory");
  }

  private static String[] with(String[] a, String... more) {
    String[] all = java.util.Arrays.copyOf(a, a.length + more.length);
    System.arraycopy(more, 0, all, a.length, more.length);
    return all;
  }

  @Test
  void stoppedAndResumedRunMatchesAnUninterruptedOne(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    pretrain(spark, shards, dir.resolve("straight"), false, "pretrain.rounds=6", "pretrain.arms=[char]");
    pretrain(spark, shards, dir.resolve("resumed"), false, "pretrain.rounds=4", "pretrain.arms=[char]",
        "pretrain.averaging=barrier");
    // What a run killed mid-chunk leaves of its workers' exchange: removed, never read.
    Path stale = dir.resolve("resumed/" + BarrierAveraging.EXCHANGE + "/killed-job/attempt-0/round-0");
    Files.createDirectories(stale);
    Files.write(stale.resolve("full-1"), new byte[] {1, 2, 3});
    Path staleInMemory = memoryExchange(dir.resolve("resumed")).resolve("killed-job/attempt-0/round-0");
    boolean memory = staleInMemory.startsWith(MemoryExchange.MEMORY);
    if (memory) {
      Files.createDirectories(staleInMemory);
      Files.write(staleInMemory.resolve("full-1"), new byte[] {1, 2, 3});
    }
    pretrain(spark, shards, dir.resolve("resumed"), true, "pretrain.rounds=6", "pretrain.arms=[char]",
        "pretrain.averaging=barrier");
    assertFalse(Files.exists(dir.resolve("resumed/" + BarrierAveraging.EXCHANGE)), "the stale exchange is gone");
    assertFalse(memory && Files.exists(memoryExchange(dir.resolve("resumed"))), "the stale exchange in memory is gone");
    LanguageModel a = LanguageModel.load(dir.resolve("straight/char/model.zip").toFile());
    LanguageModel b = LanguageModel.load(dir.resolve("resumed/char/model.zip").toFile());
    assertEquals(a.graph().getIterationCount(), b.graph().getIterationCount());
    double maxDiff = a.graph().params().sub(b.graph().params()).amaxNumber().doubleValue();
    assertEquals(0.0, maxDiff, "identical parameters after resuming (same batches, same updater state)");
    List<double[]> ma = metrics(dir.resolve("straight/char/metrics.csv"));
    List<double[]> mb = metrics(dir.resolve("resumed/char/metrics.csv"));
    assertEquals(ma.size(), mb.size());
    for (int i = 0; i < ma.size(); i++) assertEquals(ma.get(i)[4], mb.get(i)[4], "val loss row " + i);
  }

  /**
   * A crash after one arm logged and checkpointed round 4 but before the other arm and the
   * position were written: resuming goes back to round 2 for both arms, drops the logged rows
   * after it, and still ends equal to an uninterrupted run.
   */
  @Test
  void crashBetweenTheArmsCheckpointsResumesBothFromTheLastCompleteOne(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    String arms = "pretrain.arms=[baseline, char]";
    pretrain(spark, shards, dir.resolve("straight"), false, "pretrain.rounds=4", arms);
    pretrain(spark, shards, dir.resolve("crashed"), false, "pretrain.rounds=2", arms);
    Path crashed = dir.resolve("crashed");
    Files.delete(crashed.resolve("manifest.json")); // the run had not finished
    Files.copy(crashed.resolve("baseline/checkpoint-2.zip"), crashed.resolve("baseline/checkpoint-4.zip"));
    Files.writeString(crashed.resolve("baseline/metrics.csv"), "4,99,1,9.9,9.9,0.1,1.0,1.0\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals(2, new com.fasterxml.jackson.databind.ObjectMapper().readTree(crashed.resolve("position.json").toFile())
        .path("round").asInt());

    pretrain(spark, shards, crashed, true, "pretrain.rounds=4", arms);
    for (String arm : new String[] {"baseline", "char"}) {
      LanguageModel a = LanguageModel.load(dir.resolve("straight/" + arm + "/model.zip").toFile());
      LanguageModel b = LanguageModel.load(crashed.resolve(arm + "/model.zip").toFile());
      assertEquals(0.0, a.graph().params().sub(b.graph().params()).amaxNumber().doubleValue(), arm);
      List<double[]> ma = metrics(dir.resolve("straight/" + arm + "/metrics.csv"));
      List<double[]> mb = metrics(crashed.resolve(arm + "/metrics.csv"));
      assertEquals(ma.size(), mb.size(), arm + ": no row twice");
      for (int i = 0; i < ma.size(); i++) assertEquals(ma.get(i)[4], mb.get(i)[4], arm + " val loss row " + i);
      try (var files = Files.list(crashed.resolve(arm))) {
        assertEquals(List.of("checkpoint-2.zip", "checkpoint-4.zip"), files.map(f -> f.getFileName().toString())
            .filter(n -> n.startsWith("checkpoint")).sorted().toList(), "the last two checkpoints are kept");
      }
    }
  }

  /**
   * The latest checkpoint cut short (a disk that filled, a copy that stopped): resuming warns, goes
   * back to the checkpoint before it, and still ends equal to an uninterrupted run. Checkpoints and
   * metrics have no Hadoop .crc sidecars.
   */
  @Test
  void aTruncatedCheckpointResumesFromThePreviousOne(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    String arms = "pretrain.arms=[char]";
    pretrain(spark, shards, dir.resolve("straight"), false, "pretrain.rounds=6", arms);
    pretrain(spark, shards, dir.resolve("cut"), false, "pretrain.rounds=4", arms);
    Path cut = dir.resolve("cut");
    Files.delete(cut.resolve("manifest.json")); // the run had not finished
    Path latest = cut.resolve("char/checkpoint-4.zip");
    byte[] whole = Files.readAllBytes(latest);
    Files.write(latest, java.util.Arrays.copyOf(whole, whole.length / 2));
    try (var files = Files.walk(cut)) {
      assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".crc")).toList());
    }

    pretrain(spark, shards, cut, true, "pretrain.rounds=6", arms);
    LanguageModel a = LanguageModel.load(dir.resolve("straight/char/model.zip").toFile());
    LanguageModel b = LanguageModel.load(cut.resolve("char/model.zip").toFile());
    assertEquals(0.0, a.graph().params().sub(b.graph().params()).amaxNumber().doubleValue(), "resumed from round 2");
    assertEquals(metrics(dir.resolve("straight/char/metrics.csv")).size(), metrics(cut.resolve("char/metrics.csv")).size());

    // Both checkpoints damaged: one line naming the file and what to do.
    Path previous = cut.resolve("char/checkpoint-4.zip");
    Files.write(previous, new byte[] {'P', 'K', 3, 4});
    Files.write(cut.resolve("char/checkpoint-6.zip"), new byte[] {'P', 'K'});
    Files.delete(cut.resolve("manifest.json"));
    UserError e = org.junit.jupiter.api.Assertions.assertThrows(UserError.class,
        () -> pretrain(spark, shards, cut, true, "pretrain.rounds=8", arms));
    assertTrue(e.getMessage().startsWith("pretrain: no usable checkpoint in ") && e.getMessage().contains(previous.toString())
        && e.getMessage().endsWith("(start again with --overwrite)"), e.getMessage());
  }

  @Test
  void resumingFromOtherShardsIsRejected(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=2", "pretrain.arms=[baseline]");
    Path other = dir.resolve("bytes-shards");
    PrepareRunner.prepare(spark, List.of(dir.resolve("corpus").toString()), other, false, "prepare.tokenizer=bytes",
        "corpus.text.document=paragraphs", "prepare.val_fraction=0.15", "prepare.context=32");
    try {
      pretrain(spark, other, dir.resolve("run"), true, "pretrain.rounds=4", "pretrain.arms=[baseline]");
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertTrue(e.getMessage().contains("was trained on a vocabulary of 300") && e.getMessage().contains("has 257"),
          e.getMessage());
    }
  }

  @Test
  void trainingMasterSettingsComeFromConf(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=2", "pretrain.arms=[baseline]",
        "pretrain.averaging=dl4j", "pretrain.rdd_training_approach=export", "pretrain.repartition=when-workers-differ",
        "pretrain.average_updaters=false", "pretrain.prefetch=2", "pretrain.aggregation_depth=3");
    assertEquals(1, metrics(dir.resolve("run/baseline/metrics.csv")).size());
    Pretrain.Options o = Pretrain.Options.from(CharsightConfig.load(null, List.of("pretrain.aggregation_depth=3")),
        shards.toString(), dir.resolve("unused").toString(), false, false, null);
    assertEquals(3, Pretrain.trainingMaster(o, 0).getAggregationDepth());
    try {
      Pretrain.Options.from(CharsightConfig.load(null, List.of("pretrain.aggregation_depth=0")), shards.toString(),
          dir.resolve("unused").toString(), false, false, null);
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertTrue(e.getMessage().startsWith("pretrain.aggregation_depth: "), e.getMessage());
    }
    try {
      pretrain(spark, shards, dir.resolve("bad"), false, "pretrain.repartition=sometimes");
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertEquals("pretrain.repartition: expected one of always, never, when-workers-differ, got 'sometimes'", e.getMessage());
    }
    for (String[] bad : new String[][] {{"pretrain.averaging=barrier,pretrain.rdd_training_approach=export", "pretrain.rdd_training_approach: expected direct with "
        + "pretrain.averaging = barrier, got 'export' (set pretrain.averaging = dl4j to export minibatches)"},
        {"pretrain.averaging=ring", "pretrain.averaging: expected one of barrier, dl4j, got 'ring'"}}) {
      try {
        pretrain(spark, shards, dir.resolve("bad"), false, bad[0].split(","));
        throw new AssertionError("should fail: " + bad[0]);
      } catch (UserError e) {
        assertEquals(bad[1], e.getMessage());
      }
      assertFalse(Files.exists(dir.resolve("bad")), "no output for " + bad[0]);
    }
  }

  /** Without averaged Adam state DL4J restarts every round from the driver's first state; so do barrier workers. */
  @Test
  void barrierAveragingWithoutUpdaterStateMatchesDl4jsMaster(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    String[] run = {"pretrain.rounds=4", "pretrain.arms=[baseline]", "pretrain.average_updaters=false"};
    pretrain(spark, shards, dir.resolve("dl4j"), false, with(run, "pretrain.averaging=dl4j"));
    pretrain(spark, shards, dir.resolve("barrier"), false, with(run, "pretrain.averaging=barrier"));
    LanguageModel a = LanguageModel.load(dir.resolve("dl4j/baseline/model.zip").toFile());
    LanguageModel b = LanguageModel.load(dir.resolve("barrier/baseline/model.zip").toFile());
    assertArrayEquals(a.graph().params().toFloatVector(), b.graph().params().toFloatVector());
    assertArrayEquals(a.graph().getUpdater().getStateViewArray().toFloatVector(),
        b.graph().getUpdater().getStateViewArray().toFloatVector());
  }

  /** One worker has nothing to average with: it goes on with its network, as DL4J's mean of one does. */
  @Test
  void barrierAveragingWithOneWorkerMatchesDl4jsMaster(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[1]");
    Path shards = shards(spark, dir);
    for (String updaters : new String[] {"true", "false"}) {
      String[] run = {"pretrain.rounds=4", "pretrain.arms=[baseline]", "pretrain.average_updaters=" + updaters};
      pretrain(spark, shards, dir.resolve("dl4j-" + updaters), false, with(run, "pretrain.averaging=dl4j"));
      pretrain(spark, shards, dir.resolve("barrier-" + updaters), false, with(run, "pretrain.averaging=barrier"));
      LanguageModel a = LanguageModel.load(dir.resolve("dl4j-" + updaters + "/baseline/model.zip").toFile());
      LanguageModel b = LanguageModel.load(dir.resolve("barrier-" + updaters + "/baseline/model.zip").toFile());
      assertArrayEquals(a.graph().params().toFloatVector(), b.graph().params().toFloatVector(), "updaters " + updaters);
      assertArrayEquals(a.graph().getUpdater().getStateViewArray().toFloatVector(),
          b.graph().getUpdater().getStateViewArray().toFloatVector(), "updaters " + updaters);
    }
  }

  /**
   * Barrier averaging runs every worker at once. With fewer task slots than workers (here one slot,
   * two workers) each chunk trains with DL4J's master instead: the same models as asking for it.
   */
  @Test
  void chunksShortOfTaskSlotsTrainWithDl4jsMaster(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[1]", "spark.default.parallelism=2");
    assertEquals(1, BarrierAveraging.slotsNow(JavaSparkContext.fromSparkContext(spark.sparkContext())));
    Path shards = shards(spark, dir);
    String[] run = {"pretrain.rounds=4", "pretrain.arms=[baseline]", "pretrain.training_stats=true"};
    pretrain(spark, shards, dir.resolve("dl4j"), false, with(run, "pretrain.averaging=dl4j"));
    pretrain(spark, shards, dir.resolve("barrier"), false, with(run, "pretrain.averaging=barrier"));
    assertEquals(2, new ObjectMapper().readTree(dir.resolve("barrier/manifest.json").toFile()).path("workers").asInt());
    LanguageModel a = LanguageModel.load(dir.resolve("dl4j/baseline/model.zip").toFile());
    LanguageModel b = LanguageModel.load(dir.resolve("barrier/baseline/model.zip").toFile());
    assertArrayEquals(a.graph().params().toFloatVector(), b.graph().params().toFloatVector());
    assertEquals(3, Files.readAllLines(dir.resolve("barrier/baseline/" + Pretrain.STATS)).size(), "both chunks by DL4J's master");
    assertFalse(Files.exists(dir.resolve("barrier/baseline/" + Pretrain.BARRIER_STATS)), "no barrier chunk");
    SparkTestSession.stop();
  }

  /** The last chunk's statistics, by column, and as written. */
  private record Chunk(java.util.Map<String, Double> v, String row) {}

  /**
   * Four rounds of the baseline with statistics on under this averaging; the statistics file has the
   * header given and a row per chunk of val_every=2 rounds. Returns the last.
   */
  private static Chunk lastChunk(Path dir, String averaging, String file, String header) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=4", "pretrain.arms=[baseline]",
        "pretrain.training_stats=true", "pretrain.averaging=" + averaging);
    List<String> rows = Files.readAllLines(dir.resolve("run/baseline/" + file));
    assertEquals(header, rows.get(0));
    assertEquals(3, rows.size(), "a row per chunk of val_every=2 rounds: " + rows);
    String[] names = header.split(","), last = rows.get(2).split(",");
    java.util.Map<String, Double> v = new java.util.HashMap<>();
    for (int i = 0; i < names.length; i++) v.put(names[i], Double.parseDouble(last[i]));
    assertEquals(2, v.get("averaging_rounds"), "rounds in the chunk");
    return new Chunk(v, rows.get(2));
  }

  @Test
  void trainingStatisticsSplitEachChunksTimeIntoItsParts(@TempDir Path dir) throws IOException {
    Chunk c = lastChunk(dir, "dl4j", Pretrain.STATS, Pretrain.STATS_HEADER);
    java.util.Map<String, Double> v = c.v();
    double fit = v.get("worker_fit_ms_per_worker");
    double task = v.get("worker_task_ms_per_worker");
    assertTrue(fit > 0, "workers fitted: " + c.row());
    // Each part holds the next: the master's fit >= the aggregate job >= a worker's task >= its fit calls.
    assertTrue(task >= fit, "a worker's task holds its fit calls: " + c.row());
    assertTrue(v.get("aggregate_ms") >= task, "the aggregate job holds the workers' tasks: " + c.row());
    assertTrue(v.get("master_fit_ms") >= v.get("aggregate_ms"), "the master's fit holds the job: " + c.row());
  }

  @Test
  void barrierStatisticsSplitEachChunksTimeIntoItsParts(@TempDir Path dir) throws IOException {
    long unfetched = WarmNetworks.UNFETCHED.get();
    Chunk c = lastChunk(dir, "barrier", Pretrain.BARRIER_STATS, Pretrain.BARRIER_STATS_HEADER);
    // The second chunk's two workers held the first chunk's mean, which the driver started it from.
    assertEquals(2, WarmNetworks.UNFETCHED.get() - unfetched, "workers that did not fetch the broadcast");
    java.util.Map<String, Double> v = c.v();
    double fit = v.get("worker_fit_ms_per_worker");
    double parts = fit + v.get("worker_exchange_ms_per_worker") + v.get("worker_init_ms_per_worker")
        + v.get("worker_input_ms_per_worker");
    assertTrue(fit > 0, "workers fitted: " + c.row());
    // Each part holds the next: the driver's call >= a worker's task >= its fit calls, exchanges, build and input.
    assertTrue(v.get("worker_task_ms_per_worker") >= parts - 2, "a worker's task holds its parts: " + c.row());
    assertTrue(v.get("driver_ms") >= v.get("worker_task_ms_per_worker"), "the driver's call holds the tasks: " + c.row());
    // The exchange's parts other than waiting add up to at most its time outside the waits (each round's
    // exchange is counted in whole milliseconds, hence a millisecond a round of slack).
    double files = v.get("worker_exchange_write_ms_per_worker") + v.get("worker_exchange_slices_ms_per_worker")
        + v.get("worker_exchange_mean_ms_per_worker") + v.get("worker_exchange_gather_ms_per_worker");
    assertTrue(files <= v.get("worker_exchange_ms_per_worker") - v.get("worker_exchange_wait_ms_per_worker")
        + v.get("averaging_rounds") + 4, "the exchange holds its parts: " + c.row());
    // One JVM: both workers of the second chunk take the networks they kept from the first.
    assertEquals(0, v.get("networks_built"), "networks built in the second chunk: " + c.row());
  }

  @Test
  void tokenBudgetStopsTrainingEarly(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    // local[2]: 2 workers x 4 windows x 2 minibatches = 16 windows of 32 tokens = 512 tokens per round
    pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=8", "pretrain.arms=[baseline]",
        "pretrain.max_tokens=2048");
    assertEquals(2, metrics(dir.resolve("run/baseline/metrics.csv")).size(), "stopped after 4 of 8 rounds");
    assertTrue(Files.readString(dir.resolve("run/manifest.json")).contains("\"rounds\" : 4"));
  }

  @Test
  void divergingLossStopsNamingTheRound(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    try {
      pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=8", "pretrain.arms=[baseline]",
          "model.init_std=30", "model.optim.learning_rate=1e4", "model.optim.warmup_steps=1", "model.optim.clip_norm=0");
      throw new AssertionError("should have stopped on a non-finite loss");
    } catch (UserError e) {
      assertTrue(e.getMessage().startsWith("pretrain: baseline loss became ") && e.getMessage().contains(" at round "),
          e.getMessage());
      assertTrue(e.getMessage().contains("the last good checkpoint is kept"), e.getMessage());
    }
  }

  @Test
  void missingShardsAreRejectedBeforeAnyOutput(@TempDir Path dir) {
    SparkSession spark = SparkTestSession.get("local[2]");
    try {
      pretrain(spark, dir.resolve("no-shards"), dir.resolve("run"), false);
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertEquals(dir.resolve("no-shards") + ": not a prepare output (no manifest.json)", e.getMessage());
    }
    assertTrue(!Files.exists(dir.resolve("run")));
  }

  @Test
  void batchLargerThanTheDataIsRejected(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = shards(spark, dir);
    try {
      pretrain(spark, shards, dir.resolve("run"), false, "pretrain.batch_per_worker=100000");
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertTrue(e.getMessage().contains("one averaging round needs") && e.getMessage().contains("training windows"),
          e.getMessage());
    }
  }
}
