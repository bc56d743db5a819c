package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.eval.Evaluate;
import org.charsight.model.LanguageModel;
import org.charsight.tasks.Tasks;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Tuple2;

class FinetuneTest {

  @Test
  void taskWindowsWeightOnlyThePredictionsOfTheAnswer() {
    // tokens: q q q | a a EOT, answer_start 3; position t predicts t+1
    Tuple2<int[], float[]> w = Finetune.taskWindow(new int[] {5, 6, 7, 8, 9, 1}, 3, 8);
    assertArrayEquals(new int[] {5, 6, 7, 8, 9, 1}, w._1());
    assertArrayEquals(new float[] {0, 0, 1, 1, 1, 0, 0, 0}, w._2());
  }

  /**
   * Which minibatches each partition (worker) gets must not depend on anything but the rows and the
   * seed. Spark's sortByKey samples its partition bounds with a seed taken from the RDD's id, so
   * creating other RDDs first (as earlier stages of an experiment do) moved minibatches between
   * workers and changed fine-tuning.
   */
  /** A hand-made minibatch: two LM windows (8 positions each) and three task rows with 2, 3 and 1 answer positions. */
  private static List<Tuple2<int[], float[]>> mixedRows() {
    List<Tuple2<int[], float[]>> rows = new java.util.ArrayList<>();
    rows.add(new Tuple2<>(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, null));
    rows.add(new Tuple2<>(new int[] {9, 8, 7, 6, 5, 4, 3, 2, 1}, null));
    rows.add(Finetune.taskWindow(new int[] {5, 6, 7, 8, 9, 1}, 4, 8));    // answer 9, end: 2 positions
    rows.add(Finetune.taskWindow(new int[] {5, 6, 7, 8, 9, 1}, 3, 8));    // 3 positions
    rows.add(Finetune.taskWindow(new int[] {5, 6, 7, 8, 9, 1}, 5, 8));    // 1 position
    return rows;
  }

  @Test
  void lmPositionsAreCountedSoThatLmAndTaskMeansMixByLmWeight() {
    List<Tuple2<int[], float[]>> rows = mixedRows();
    // 6 task positions; lm_weight w counts round(6 w / (1 - w)) LM positions (at most the 16 there are).
    for (double[] c : new double[][] {{0.25, 2}, {0.1, 1}, {0.5, 6}, {0.0, 0}, {0.9, 16}}) {
      float[][] w = Finetune.lossWeights(rows, 8, c[0], 7);
      assertEquals(c[1], count(w[0]) + count(w[1]), "LM positions at lm_weight " + c[0]);
      for (int i = 2; i < 5; i++) assertArrayEquals(rows.get(i)._2(), w[i], "task rows keep their answer weights");
    }
    // The choice is seeded and spread over the LM positions: over many minibatches each is counted
    // about equally often (2 of 16 = 1/8), so the counted ones are an unbiased sample of the LM loss.
    int[] chosen = new int[16];
    for (long seed = 0; seed < 4000; seed++) {
      float[][] w = Finetune.lossWeights(rows, 8, 0.25, seed);
      for (int t = 0; t < 8; t++) {
        chosen[t] += (int) w[0][t];
        chosen[8 + t] += (int) w[1][t];
      }
    }
    for (int c : chosen) assertEquals(4000 / 8.0, c, 60, java.util.Arrays.toString(chosen));
    assertArrayEquals(Finetune.lossWeights(rows, 8, 0.25, 3)[0], Finetune.lossWeights(rows, 8, 0.25, 3)[0]);
  }

  @Test
  void theModelsLossOnAMixedMinibatchIsLmWeightTimesTheLmMeanPlusTheRestTimesTheTaskMean() {
    List<Tuple2<int[], float[]>> rows = mixedRows();
    int[][] windows = rows.stream().map(Tuple2::_1).toArray(int[][]::new);
    float[][] mixed = Finetune.lossWeights(rows, 8, 0.25, 11);
    float[][] lmOnly = new float[5][8];
    float[][] taskOnly = new float[5][8];
    for (int i = 0; i < 5; i++) (i < 2 ? lmOnly : taskOnly)[i] = mixed[i];
    org.charsight.model.GptConfig config = new org.charsight.model.GptConfig(org.charsight.model.Arch.BASELINE, 12, 8, 16, 1,
        2, 0.0, 0.02, 4, 4, 6, 3e-3, 3e-4, 20, 100, 0.0, 0.9, 0.95, 0.0, 5, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    List<byte[]> bytes = new java.util.ArrayList<>();
    for (int i = 0; i < 12; i++) bytes.add(new byte[] {(byte) ('a' + i)});
    org.charsight.model.LanguageModel m = org.charsight.model.LanguageModel.create(config, bytes);
    var batch = org.charsight.model.Batch.of(windows, mixed, 8, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    double lm = m.loss(org.charsight.model.Batch.of(windows, lmOnly, 8, org.nd4j.linalg.api.buffer.DataType.FLOAT));
    double task = m.loss(org.charsight.model.Batch.of(windows, taskOnly, 8, org.nd4j.linalg.api.buffer.DataType.FLOAT));
    // 2 LM + 6 task positions counted: the mean over them is 0.25 x LM mean + 0.75 x task mean ...
    assertEquals(0.25 * lm + 0.75 * task, m.loss(batch), 1e-5);
    // ... and the output layer's training loss (a sum over counted positions per row) counts exactly those.
    assertEquals(8 * m.loss(batch), m.graph().score(batch) * 5, 1e-3);
  }

  private static int count(float[] w) {
    int n = 0;
    for (float v : w) n += v != 0 ? 1 : 0;
    return n;
  }

  @Test
  void minibatchesGoToPartitionsInRankOrderWhateverRddsCameBefore() {
    SparkSession spark = SparkTestSession.get("local[2]");
    var jsc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Tuple2<Integer, Tuple2<int[], float[]>>> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 400; i++) rows.add(new Tuple2<>(0, new Tuple2<>(new int[] {i, 1, 2, 3, 4}, null)));
    long seed = 99;
    List<Integer> expected = rows.stream()
        .sorted(java.util.Comparator.comparingLong(r -> org.charsight.common.StableHash.hash64(seed, r._2()._1())))
        .map(r -> r._2()._1()[0]).toList();
    for (int run = 0; run < 3; run++) {
      for (int i = 0; i < 5 * run; i++) jsc.parallelize(List.of(i)).count(); // other RDDs first: other ids
      List<List<List<Integer>>> parts = new java.util.ArrayList<>();
      for (List<org.nd4j.linalg.dataset.DataSet> part : Finetune.batches(jsc.parallelize(rows, 3), seed, 1, 4, 2, 0.1).glom().collect()) {
        List<List<Integer>> firsts = new java.util.ArrayList<>();
        for (var ds : part) firsts.add(List.of(ds.getFeatures().getInt(0, 0)));
        parts.add(firsts);
      }
      assertEquals(2, parts.size());
      assertEquals(200, parts.get(0).size(), "run " + run + ": half the minibatches on each worker");
      List<Integer> flat = parts.stream().flatMap(List::stream).flatMap(List::stream).toList();
      assertEquals(expected, flat, "run " + run + ": minibatches in rank order");
    }
  }

  @Test
  void theScheduleLastsRoundsTimesFrequencyStepsHoweverFewTheRows() {
    // 2 workers x 4 rows x frequency 2 = 16 rows per round; chunks of 5 rounds ask for 80 rows each.
    Finetune.Options o = Finetune.Options.from(CharsightConfig.load(null, List.of("finetune.rounds=10",
        "finetune.val_every=5", "finetune.batch_per_worker=4", "finetune.averaging_frequency=2", "finetune.lm_fraction=0.1")),
        "pre", "tasks", "out", false);
    Phase p = o.phases().get(0);
    assertEquals(20, Finetune.expectedSteps(o, p, 2, 1000, 1000), "enough rows: rounds x frequency");
    assertEquals(20, Finetune.expectedSteps(o, p, 2, 1000, 20), "20 task rows are repeated to fill the rounds");
    assertEquals(18, Finetune.expectedSteps(o, p, 2, 0, 20), "no LM rows: the task share alone");
  }

  @Test
  void theTrainingMasterTakesItsSettingsFromConf() {
    Finetune.Options o = Finetune.Options.from(CharsightConfig.load(null, List.of("finetune.batch_per_worker=4",
        "finetune.averaging_frequency=3", "finetune.aggregation_depth=4")), "pre", "tasks", "out", false);
    var master = Finetune.trainingMaster(o, 7);
    assertEquals(4, master.getAggregationDepth());
    assertEquals(3, master.getAveragingFrequency());
  }

  /**
   * A run whose checkpoint of round 12 was lost (a kill while its files were written leaves them so) resumes
   * from round 8's and ends as the run that was not stopped: parameters and Adam state of both arms the same
   * bits, the same metrics rows but their wall time, and no row twice.
   */
  @Test
  void aResumedFineTuningEndsAsTheUninterruptedOne(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSession.get("local[2]");
    TrainingFixtures.pretrainedWithTasks(spark, dir);
    CharsightConfig c = TrainingFixtures.finetuneConf().with("finetune.rounds", 12).with("finetune.checkpoint_every", 4);
    String pre = dir.resolve("pre").toString();
    String tasks = dir.resolve("tasks").toString();
    Finetune.run(spark, Finetune.Options.from(c, pre, tasks, dir.resolve("straight").toString(), false));

    Path stopped = dir.resolve("stopped");
    Finetune.run(spark, Finetune.Options.from(c, pre, tasks, stopped.toString(), false));
    Files.delete(stopped.resolve("manifest.json")); // the run had not finished
    for (String arm : new String[] {"baseline", "char"}) {
      Files.delete(stopped.resolve(arm + "/model.zip"));
      Files.delete(stopped.resolve(arm + "/checkpoint-12.zip"));
      List<String> rows = Files.readAllLines(stopped.resolve(arm + "/metrics.csv"));
      assertEquals(4, rows.size(), arm + ": a row per 4 rounds: " + rows);
    }
    Finetune.run(spark, Finetune.Options.from(c, pre, tasks, stopped.toString(), false, true));

    for (String arm : new String[] {"baseline", "char"}) {
      LanguageModel a = LanguageModel.load(dir.resolve("straight/" + arm + "/model.zip").toFile());
      LanguageModel b = LanguageModel.load(stopped.resolve(arm + "/model.zip").toFile());
      assertEquals(a.graph().getIterationCount(), b.graph().getIterationCount(), arm);
      assertArrayEquals(a.graph().params().toFloatVector(), b.graph().params().toFloatVector(), arm + ": parameters");
      assertArrayEquals(a.graph().getUpdater().getStateViewArray().toFloatVector(),
          b.graph().getUpdater().getStateViewArray().toFloatVector(), arm + ": Adam state");
      List<String> ra = Files.readAllLines(dir.resolve("straight/" + arm + "/metrics.csv"));
      List<String> rb = Files.readAllLines(stopped.resolve(arm + "/metrics.csv"));
      assertEquals(ra.size(), rb.size(), arm + ": no row twice: " + rb);
      for (int i = 0; i < ra.size(); i++) {
        assertEquals(withoutWallTime(ra.get(i)), withoutWallTime(rb.get(i)), arm + " metrics row " + i);
      }
    }
  }

  private static String withoutWallTime(String row) {
    return row.substring(0, row.lastIndexOf(','));
  }

  @Test
  void bothArmsFinetuneOnTasksAndTaskLossFalls(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSession.get("local[2]");
    TrainingFixtures.finetuned(spark, dir);
    CharsightConfig c = TrainingFixtures.finetuneConf();
    for (String arm : new String[] {"baseline", "char"}) {
      List<String> rows = Files.readAllLines(dir.resolve("ft/" + arm + "/metrics.csv"));
      assertEquals(Finetune.METRICS_HEADER, rows.get(0));
      assertEquals(3, rows.size(), arm + ": a row per 4 rounds");
      double first = Double.parseDouble(rows.get(1).split(",")[3]);
      double last = Double.parseDouble(rows.get(2).split(",")[3]);
      assertTrue(last < first, arm + " task validation loss falls: " + first + " -> " + last);
      assertTrue(Files.exists(dir.resolve("ft/" + arm + "/model.zip")));
    }

    // The second run asks for 2 workers x 16 rows x frequency 2 x 4 rounds = 256 rows per chunk, three
    // times the task rows there are: they are repeated, and all 4 rounds (8 steps) run; taking each row
    // once would give 2 rounds.
    List<String> pre = Files.readAllLines(dir.resolve("pre/baseline/metrics.csv"));
    List<String> ft2 = Files.readAllLines(dir.resolve("ft2/baseline/metrics.csv"));
    int steps = Integer.parseInt(ft2.get(ft2.size() - 1).split(",")[1]) - Integer.parseInt(pre.get(pre.size() - 1).split(",")[1]);
    assertTrue(steps >= 8 && steps <= 10, "fine-tuning steps taken: " + steps);

    // Phases: a joint phase, then tasks alone at a constant lower rate, whose schedule starts where
    // the first phase stopped.
    CharsightConfig phased = CharsightConfig.load(null, List.of("finetune.batch_per_worker=2", "finetune.val_every=1",
        "finetune.averaging_frequency=2", "finetune.phases=[{rounds=2, learning_rate=1e-3, min_learning_rate=1e-3, warmup_steps=0},"
            + " {rounds=2, learning_rate=3e-5, min_learning_rate=3e-5, warmup_steps=0, lm_fraction=0}]"));
    long reused = WarmNetworks.REUSED.get(), unfetched = WarmNetworks.UNFETCHED.get();
    Finetune.run(spark, Finetune.Options.from(phased, dir.resolve("pre").toString(), dir.resolve("tasks").toString(),
        dir.resolve("ft-phases").toString(), false));
    // Four one-round chunks, two arms, two workers: the networks of chunks 1 and 3 (a new schedule) are built,
    // those of chunks 2 and 4 kept from the chunk before.
    assertEquals(8, WarmNetworks.REUSED.get() - reused, "networks kept from the chunk before");
    // Each held the chunk before's mean, which the driver started the chunk from: none fetched the broadcast.
    assertEquals(8, WarmNetworks.UNFETCHED.get() - unfetched, "kept networks that did not fetch the broadcast");
    List<String> phaseRows = Files.readAllLines(dir.resolve("ft-phases/baseline/metrics.csv"));
    assertEquals(5, phaseRows.size(), "a row per round over both phases: " + phaseRows);
    int phaseOneEnd = Integer.parseInt(phaseRows.get(2).split(",")[1]);
    org.charsight.model.LanguageModel phasedModel = org.charsight.model.LanguageModel.load(
        dir.resolve("ft-phases/baseline/model.zip").toFile());
    int now = phasedModel.graph().getIterationCount();
    for (org.deeplearning4j.nn.api.Layer l : phasedModel.graph().getLayers()) {
      if (!(l.conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b)) continue;
      assertEquals(3e-5, b.getIUpdater().getLearningRate(now, 0), 1e-12, "phase 2's rate at the end");
      assertEquals(3e-5, b.getIUpdater().getLearningRate(phaseOneEnd, 0), 1e-12, "phase 2's rate from its first step");
      var schedule = (org.charsight.model.WarmupCosineSchedule) ((org.nd4j.linalg.learning.config.Adam) b.getIUpdater())
          .getLearningRateSchedule();
      assertEquals(phaseOneEnd, schedule.start, "phase 2's schedule starts at the step phase 1 ended");
    }
    com.fasterxml.jackson.databind.JsonNode pm = org.charsight.common.Manifest.read(dir.resolve("ft-phases").toString(),
        new org.apache.hadoop.conf.Configuration(), "finetune");
    assertEquals(2, pm.path("phases").size());
    assertEquals(0.0, pm.at("/phases/1/lm_fraction").asDouble());
    assertEquals(3e-5, pm.at("/phases/1/learning_rate/peak").asDouble(), 1e-12);
    // Barrier workers keep their networks from chunk to chunk, but not across the change of schedule: the
    // phases give DL4J's models bit for bit.
    Finetune.run(spark, Finetune.Options.from(phased.with("finetune.averaging", "dl4j"), dir.resolve("pre").toString(),
        dir.resolve("tasks").toString(), dir.resolve("ft-phases-dl4j").toString(), false));
    for (String arm : new String[] {"baseline", "char"}) {
      assertArrayEquals(org.charsight.model.LanguageModel.load(dir.resolve("ft-phases-dl4j/" + arm + "/model.zip").toFile())
          .graph().params().toFloatVector(), org.charsight.model.LanguageModel.load(
              dir.resolve("ft-phases/" + arm + "/model.zip").toFile()).graph().params().toFloatVector(), arm + ": phases");
    }

    // The same examples stored in other files and partitions fine-tune to the same losses: which rows a
    // round samples and how they are batched must not depend on the storage layout.
    Path moved = dir.resolve("tasks-moved");
    try (var files = Files.walk(dir.resolve("tasks"))) {
      for (Path f : files.filter(f -> !f.toString().contains("/examples")).toList()) {
        Files.copy(f, moved.resolve(dir.resolve("tasks").relativize(f).toString()));
      }
    }
    spark.read().parquet(dir.resolve("tasks/examples").toString()).orderBy("prompt").repartition(5)
        .write().parquet(moved.resolve("examples").toString());
    // Small rounds, so that each takes a sample of the examples rather than all of them.
    CharsightConfig small = c.with("finetune.batch_per_worker", 2).with("finetune.rounds", 2).with("finetune.val_every", 2);
    for (String layout : new String[] {"tasks", "tasks-moved"}) {
      Finetune.run(spark, Finetune.Options.from(small, dir.resolve("pre").toString(), dir.resolve(layout).toString(),
          dir.resolve("ft-" + layout).toString(), false));
    }
    for (String arm : new String[] {"baseline", "char"}) {
      assertEquals(losses(dir.resolve("ft-tasks/" + arm + "/metrics.csv")),
          losses(dir.resolve("ft-tasks-moved/" + arm + "/metrics.csv")), arm + ": same examples in another layout");
    }

    // Barrier averaging trains the models of DL4J's master bit for bit, its rounds spread over the workers
    // again (Repartition.Always) included: sampled rows seldom split evenly. Counted: barrier jobs in each run.
    java.util.concurrent.atomic.AtomicInteger barrierJobs = new java.util.concurrent.atomic.AtomicInteger();
    spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
      @Override
      public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
        String group = e.properties() == null ? null : e.properties().getProperty("spark.jobGroup.id");
        if (group != null && group.startsWith("barrier-")) barrierJobs.incrementAndGet();
      }
    });
    int[] jobs = new int[2];
    String[] averaging = {"dl4j", "barrier"};
    for (int i = 0; i < 2; i++) {
      Finetune.run(spark, Finetune.Options.from(c.with("finetune.averaging", averaging[i]), dir.resolve("pre").toString(),
          dir.resolve("tasks").toString(), dir.resolve("ft-" + averaging[i]).toString(), false));
      spark.sparkContext().listenerBus().waitUntilEmpty();
      jobs[i] = barrierJobs.getAndSet(0);
    }
    assertEquals(0, jobs[0], "DL4J's master runs no barrier job");
    assertEquals(4, jobs[1], "a barrier job per chunk and arm (2 x 2)");
    for (String arm : new String[] {"baseline", "char"}) {
      org.charsight.model.LanguageModel a = org.charsight.model.LanguageModel.load(
          dir.resolve("ft-barrier/" + arm + "/model.zip").toFile());
      org.charsight.model.LanguageModel b = org.charsight.model.LanguageModel.load(
          dir.resolve("ft-dl4j/" + arm + "/model.zip").toFile());
      assertArrayEquals(b.graph().params().toFloatVector(), a.graph().params().toFloatVector(), arm + ": parameters");
      assertArrayEquals(b.graph().getUpdater().getStateViewArray().toFloatVector(),
          a.graph().getUpdater().getStateViewArray().toFloatVector(), arm + ": Adam state");
      assertEquals(b.graph().getIterationCount(), a.graph().getIterationCount(), arm + ": steps");
      assertEquals(losses(dir.resolve("ft-dl4j/" + arm + "/metrics.csv")),
          losses(dir.resolve("ft-barrier/" + arm + "/metrics.csv")));
    }
    assertTrue(!Files.exists(dir.resolve("ft-barrier/" + BarrierAveraging.EXCHANGE)), "the exchange files are removed");

  }

  /** The metrics rows without their wall-clock column. */
  private static List<String> losses(Path metrics) throws IOException {
    return Files.readAllLines(metrics).stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
  }
}
