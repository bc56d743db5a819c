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
import org.charsight.tasks.Tasks;
import org.charsight.testing.SparkTestSession;
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
      for (List<org.nd4j.linalg.dataset.DataSet> part : Finetune.batches(jsc.parallelize(rows, 3), seed, 1, 4, 2).glom().collect()) {
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
    assertEquals(20, Finetune.expectedSteps(o, 2, 1000, 1000), "enough rows: rounds x frequency");
    assertEquals(20, Finetune.expectedSteps(o, 2, 1000, 20), "20 task rows are repeated to fill the rounds");
    assertEquals(18, Finetune.expectedSteps(o, 2, 0, 20), "no LM rows: the task share alone");
  }

  @Test
  void bothArmsFinetuneOnTasksAndTaskLossFalls(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = PretrainTest.shards(spark, dir, 64); // questions and answers need more than 32 tokens
    PretrainTest.pretrain(spark, shards, dir.resolve("pre"), false, "pretrain.rounds=2", "pretrain.arms=[baseline, char]");
    Path words = Files.writeString(dir.resolve("words.txt"),
        String.join("\n", "apple", "banana", "cherry", "dragon", "eagle", "falcon", "garden", "harbor", "island", "jungle",
            "kettle", "lemon", "mango", "nectar", "ocean", "pepper", "quiet", "river", "sugar", "tiger"));
    CharsightConfig tc = CharsightConfig.load(null, List.of("tasks.families=[reverse]", "tasks.examples_per_word=4"));
    Tasks.run(spark, Tasks.Options.from(tc, shards.toString(), dir.resolve("tasks").toString(), false, words.toString()));

    CharsightConfig c = CharsightConfig.load(null, List.of("finetune.rounds=8", "finetune.batch_per_worker=4",
        "finetune.averaging_frequency=2", "finetune.val_every=4", "finetune.val_examples=16", "finetune.lm_fraction=0.1"));
    Finetune.run(spark, Finetune.Options.from(c, dir.resolve("pre").toString(), dir.resolve("tasks").toString(),
        dir.resolve("ft").toString(), false));
    for (String arm : new String[] {"baseline", "char"}) {
      List<String> rows = Files.readAllLines(dir.resolve("ft/" + arm + "/metrics.csv"));
      assertEquals(Finetune.METRICS_HEADER, rows.get(0));
      assertEquals(3, rows.size(), arm + ": a row per 4 rounds");
      double first = Double.parseDouble(rows.get(1).split(",")[3]);
      double last = Double.parseDouble(rows.get(2).split(",")[3]);
      assertTrue(last < first, arm + " task validation loss falls: " + first + " -> " + last);
      assertTrue(Files.exists(dir.resolve("ft/" + arm + "/model.zip")));
    }

    // A second run (another seed, fewer rounds) so that evaluation pools two runs. Its rounds ask for
    // 2 workers x 16 rows x frequency 2 x 4 rounds = 256 rows, three times the task rows there are:
    // they are repeated, and all 4 rounds (8 steps) run; taking each row once would give 2 rounds.
    Finetune.run(spark, Finetune.Options.from(c.with("seed", 2).with("finetune.rounds", 4).with("finetune.batch_per_worker", 16),
        dir.resolve("pre").toString(), dir.resolve("tasks").toString(), dir.resolve("ft2").toString(), false));
    List<String> pre = Files.readAllLines(dir.resolve("pre/baseline/metrics.csv"));
    List<String> ft2 = Files.readAllLines(dir.resolve("ft2/baseline/metrics.csv"));
    int steps = Integer.parseInt(ft2.get(ft2.size() - 1).split(",")[1]) - Integer.parseInt(pre.get(pre.size() - 1).split(",")[1]);
    assertTrue(steps >= 8 && steps <= 10, "fine-tuning steps taken: " + steps);

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

    // Evaluate the fine-tuned arms: every arm x task x split gets a result with an interval.
    CharsightConfig ec = CharsightConfig.load(null, List.of("evaluate.max_examples_per_task_split=6",
        "evaluate.max_new_tokens=12", "evaluate.bootstrap_resamples=200"));
    Evaluate.run(spark, Evaluate.Options.from(ec, List.of(dir.resolve("ft").toString(), dir.resolve("ft2").toString()),
        dir.resolve("tasks").toString(), dir.resolve("eval").toString(), false));
    List<String> results = Files.readAllLines(dir.resolve("eval/results.csv"));
    List<String> byRun = Files.readAllLines(dir.resolve("eval/results_by_run.csv"));
    List<String> diffs = Files.readAllLines(dir.resolve("eval/differences.csv"));
    assertEquals("arm,task,split,tokens_bucket,runs,n,correct,accuracy,ci_low,ci_high", results.get(0));
    for (String split : new String[] {"val_train_words", "val_heldout", "val_nonce"}) {
      double[] acc = new double[2];
      for (int a = 0; a < 2; a++) {
        String arm = a == 0 ? "baseline" : "char";
        String row = results.stream().filter(l -> l.startsWith(arm + ",reverse," + split + ",all,")).findFirst()
            .orElseThrow(() -> new AssertionError("no result for " + arm + " " + split));
        String[] f = row.split(",");
        assertEquals(2, Integer.parseInt(f[4]), "two runs pooled: " + row);
        int n = Integer.parseInt(f[5]);
        acc[a] = Double.parseDouble(f[7]);
        assertTrue(n > 0 && n <= 12, row);
        assertTrue(Double.parseDouble(f[8]) <= acc[a] && acc[a] <= Double.parseDouble(f[9]), row);
        // The pooled accuracy is the mean of the two runs' accuracies.
        double mean = byRun.stream().filter(l -> l.contains("," + arm + ",reverse," + split + ",all,"))
            .mapToDouble(l -> Double.parseDouble(l.split(",")[8])).average().orElseThrow();
        assertEquals(2, byRun.stream().filter(l -> l.contains("," + arm + ",reverse," + split + ",all,")).count());
        assertEquals(mean, acc[a], 1e-4, arm + " " + split);
      }
      String d = diffs.stream().filter(l -> l.startsWith("char,baseline,reverse," + split + ",all,")).findFirst()
          .orElseThrow(() -> new AssertionError("no difference for " + split + " in " + diffs));
      assertEquals(acc[1] - acc[0], Double.parseDouble(d.split(",")[7]), 2e-4, d);
    }
    // Every question about a training word of reverse (which names no letters) was asked in training;
    // none about a held-out word was.
    List<String> byQuestion = Files.readAllLines(dir.resolve("eval/results_by_question.csv"));
    assertEquals("arm,task,split,question,runs,n,correct,accuracy,ci_low,ci_high", byQuestion.get(0));
    for (String arm : new String[] {"baseline", "char"}) {
      String all = results.stream().filter(l -> l.startsWith(arm + ",reverse,val_train_words,all,")).findFirst().orElseThrow();
      String trained = byQuestion.stream().filter(l -> l.startsWith(arm + ",reverse,val_train_words,trained,")).findFirst()
          .orElseThrow(() -> new AssertionError("no trained row in " + byQuestion));
      assertEquals(List.of(all.split(",")).subList(4, 8), List.of(trained.split(",")).subList(4, 8),
          "same runs, n, correct and accuracy: " + trained);
      assertTrue(byQuestion.stream().anyMatch(l -> l.startsWith(arm + ",reverse,val_heldout,new,")), byQuestion.toString());
      assertTrue(byQuestion.stream().noneMatch(l -> l.startsWith(arm + ",reverse,val_heldout,trained,")), byQuestion.toString());
    }
    // The most-frequent-answer floor, checked against the answers that were asked.
    List<String> floors = Files.readAllLines(dir.resolve("eval/baselines.csv"));
    assertEquals("task,split,n,most_frequent_answer,accuracy,letters_only_accuracy", floors.get(0));
    for (String split : new String[] {"val_train_words", "val_heldout", "val_nonce"}) {
      String[] f = floors.stream().filter(l -> l.startsWith("reverse," + split + ",")).findFirst().orElseThrow().split(",");
      var answers = spark.read().parquet(dir.resolve("eval/predictions").toString())
          .where("arm = 'baseline' and run = 'seed-2' and task = 'reverse' and split = '" + split + "'")
          .groupBy("answer").count().orderBy(org.apache.spark.sql.functions.col("count").desc()).collectAsList();
      long n = answers.stream().mapToLong(r -> r.getLong(1)).sum();
      assertEquals(n, Long.parseLong(f[2]), split);
      assertEquals((double) answers.get(0).getLong(1) / n, Double.parseDouble(f[4]), 1e-4, split);
      // reverse names no letters: the letters-only answer is training's commonest reversed word,
      // which no evaluation word shares (held-out and nonce words were never trained on).
      if (!split.equals("val_train_words")) assertEquals(0.0, Double.parseDouble(f[5]), 1e-9, split);
    }
    long predictions = spark.read().parquet(dir.resolve("eval/predictions").toString()).count();
    long examples = spark.read().parquet(dir.resolve("tasks/examples").toString()).where("split <> 'train'")
        .groupBy("task", "split").count().collectAsList().stream().mapToLong(r -> Math.min(6, r.getLong(2))).sum();
    assertEquals(2 * 2 * examples, predictions, "every evaluation example answered by both arms of both runs");
  }

  /** The metrics rows without their wall-clock column. */
  private static List<String> losses(Path metrics) throws IOException {
    return Files.readAllLines(metrics).stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
  }
}
