package org.charsight.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.charsight.report.Report;
import org.charsight.tasks.Tasks;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluate stage end to end on two fine-tuned runs, and the report's tables against its CSV files. */
class EvaluateTest {

  @Test
  void everyArmTaskAndSplitIsScoredPooledOverRunsAndTheReportShowsTheSameNumbers(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    TrainingFixtures.Finetuned ft = TrainingFixtures.finetuned(spark, dir);

    // Evaluate the fine-tuned arms: every arm x task x split gets a result with an interval.
    CharsightConfig ec = CharsightConfig.load(null, List.of("evaluate.max_examples_per_task_split=6",
        "evaluate.max_new_tokens=12", "evaluate.bootstrap_resamples=200"));
    Evaluate.run(spark, Evaluate.Options.from(ec, List.of(ft.runs().get(0).toString(), ft.runs().get(1).toString()),
        List.of(dir.resolve("tasks").toString()), dir.resolve("eval").toString(), false));
    List<String> results = Files.readAllLines(dir.resolve("eval/results.csv"));
    List<String> byRun = Files.readAllLines(dir.resolve("eval/results_by_run.csv"));
    List<String> diffs = Files.readAllLines(dir.resolve("eval/differences.csv"));
    assertEquals("arm,task,split,tokens_bucket,runs,n,correct,accuracy,ci_low,ci_high", results.get(0));
    for (String split : new String[] {"val_train_words", "val_heldout", "val_nonce", "val_pseudoword"}) {
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
          .where("arm = 'baseline' and task = 'reverse' and split = '" + split + "'") // both runs' questions
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
    // The report shows exactly these numbers: its accuracy and difference tables, parsed back from
    // report.md, against results.csv and differences.csv.
    Report.run(new Report.Options("test", "# conf", List.of(new Report.Vocabulary("bpe-300", ft.shards().toString(),
        dir.resolve("eval").toString(), List.of("baseline", "char"),
        List.of(new Report.Run(1, ft.tasks().toString(), ft.pretrain().toString(), null, ft.runs().get(0).toString()),
            new Report.Run(2, ft.tasks().toString(), ft.pretrain().toString(), null, ft.runs().get(1).toString())))),
        dir.resolve("report").toString(), false), spark.sparkContext().hadoopConfiguration());
    List<List<String>> accuracy = table(dir.resolve("report/report.md"), "### Vocabulary bpe-300: accuracy % [95% interval]");
    List<String> header = accuracy.get(0);
    int checked = 0;
    for (List<String> row : accuracy.subList(1, accuracy.size())) {
      for (int col = 1; col < header.size(); col++) {
        String[] armAndSplit = header.get(col).split(", ");
        if (armAndSplit[0].equals("floor")) continue;
        String split = Map.of("training words", "val_train_words", "held-out words", "val_heldout", "nonce strings",
            "val_nonce", "pseudowords", "val_pseudoword").get(armAndSplit[1]);
        String[] f = results.stream().filter(l -> l.startsWith(armAndSplit[0] + "," + row.get(0) + "," + split + ",all,"))
            .findFirst().orElseThrow().split(",");
        String expected = String.format(java.util.Locale.ROOT, "%.1f [%.1f, %.1f]", 100 * Double.parseDouble(f[7]),
            100 * Double.parseDouble(f[8]), 100 * Double.parseDouble(f[9]));
        assertEquals(expected, row.get(col), header.get(col) + " of " + row.get(0));
        checked++;
      }
    }
    assertEquals(8, checked, "both arms x four splits of reverse");
    // The lead table: every contrast row on the spelling splits, with its Holm-adjusted verdict.
    List<String[]> family = diffs.stream().skip(1).map(l -> l.split(",", -1))
        .filter(f -> f[4].equals("all") && List.of("val_heldout", "val_nonce", "val_pseudoword").contains(f[3])).toList();
    assertEquals(3, family.size(), "char - baseline on reverse x three spelling splits: " + diffs);
    List<List<String>> result = table(dir.resolve("report/report.md"), "### Vocabulary bpe-300 (" + family.size() + " tests)");
    assertEquals(List.of("contrast", "task", "questions", "difference", "95% interval", "by seed",
        "right only: arm / other", "p (Holm)", "verdict", "questions x seeds"), result.get(0));
    List<String[]> runRows = byRun.stream().skip(1).map(l -> l.split(",", -1)).filter(f -> f[4].equals("all")).toList();
    List<String> runLabels = runRows.stream().map(f -> f[0]).distinct().sorted().toList();
    assertEquals(2, runLabels.size(), runLabels.toString());
    for (int i = 0; i < family.size(); i++) {
      String[] d = family.get(i);
      double p = Double.parseDouble(d[12]);
      double holm = Double.parseDouble(d[13]);
      assertTrue(p <= holm && holm <= 1, "Holm never lowers a p-value: " + String.join(",", d));
      double low = Double.parseDouble(d[8]);
      double high = Double.parseDouble(d[9]);
      String verdict = holm >= 0.05 ? "no detectable difference" : low <= 0 && high >= 0
          ? "pooled p < 0.05, interval includes 0" : Double.parseDouble(d[7]) > 0 ? "better" : "worse";
      List<String> seeds = new ArrayList<>();
      for (String run : runLabels) {
        seeds.add(String.format(java.util.Locale.ROOT, "%+.1f", 100 * (runAccuracy(runRows, run, "char", d)
            - runAccuracy(runRows, run, "baseline", d))));
      }
      assertEquals(List.of("char - baseline", d[2], Report.SPLIT_NAMES.get(d[3]),
          String.format(java.util.Locale.ROOT, "%+.1f", 100 * Double.parseDouble(d[7])),
          String.format(java.util.Locale.ROOT, "[%+.1f, %+.1f]", 100 * low, 100 * high), String.join(" / ", seeds),
          d[10] + " / " + d[11], d[13], verdict, d[6]), result.get(i + 1));
    }
  }

  @Test
  void eachRunIsAskedAboutItsOwnWordSplit(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    TrainingFixtures.Finetuned ft = TrainingFixtures.finetuned(spark, dir);
    // The second run's tasks: the same words drawn into another split (seed 2).
    CharsightConfig tc = CharsightConfig.load(null, List.of("tasks.families=[reverse]", "tasks.examples_per_word=4", "seed=2"));
    Tasks.run(spark, Tasks.Options.from(tc, ft.shards().toString(), dir.resolve("tasks2").toString(), false,
        dir.resolve("words.txt").toString()));
    CharsightConfig ec = CharsightConfig.load(null, List.of("evaluate.max_examples_per_task_split=50",
        "evaluate.max_new_tokens=4", "evaluate.bootstrap_resamples=100"));
    Evaluate.run(spark, Evaluate.Options.from(ec, List.of(ft.runs().get(0).toString(), ft.runs().get(1).toString()),
        List.of(ft.tasks().toString(), dir.resolve("tasks2").toString()), dir.resolve("eval").toString(), false));
    var predictions = spark.read().parquet(dir.resolve("eval/predictions").toString());
    // The manifest pairs each run with the tasks it was given, and each run answered its own questions.
    var runTasks = org.charsight.common.Manifest.read(dir.resolve("eval").toString(),
        spark.sparkContext().hadoopConfiguration(), "evaluate").path("tasks");
    assertEquals(2, runTasks.size());
    List<Set<String>> asked = new ArrayList<>();
    runTasks.fields().forEachRemaining(run -> {
      Set<String> heldOut = words(spark.read().parquet(run.getValue().asText() + "/examples").where("split = 'val_heldout'"));
      asked.add(words(predictions.where("run = '" + run.getKey() + "' and split = 'val_heldout'")));
      assertEquals(heldOut, asked.get(asked.size() - 1), run.getKey() + " is asked about its own held-out words");
    });
    assertTrue(runTasks.toString().contains("tasks2"), runTasks.toString());
    assertNotEquals(asked.get(0), asked.get(1), "the seeds' splits differ");
    assertThrows(UserError.class, () -> Evaluate.Options.from(ec, List.of("a", "b", "c"), List.of("t1", "t2"), "out", false));
  }

  private static Set<String> words(org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> rows) {
    Set<String> out = new java.util.TreeSet<>();
    for (var r : rows.select("word").distinct().collectAsList()) out.add(r.getString(0));
    return out;
  }

  /** The markdown table right after a heading (header row first), cells trimmed. */
  /** A run's accuracy for an arm on the task and split of a differences.csv row, from results_by_run.csv. */
  private static double runAccuracy(List<String[]> runRows, String run, String arm, String[] difference) {
    return runRows.stream().filter(f -> f[0].equals(run) && f[1].equals(arm) && f[2].equals(difference[2])
        && f[3].equals(difference[3])).mapToDouble(f -> Double.parseDouble(f[8])).findFirst().orElseThrow();
  }

  static List<List<String>> table(Path md, String heading) throws IOException {
    List<String> lines = Files.readAllLines(md);
    int i = lines.indexOf(heading);
    assertTrue(i >= 0, heading + " in " + md);
    while (!lines.get(i).startsWith("|")) i++;
    List<List<String>> rows = new ArrayList<>();
    for (; i < lines.size() && lines.get(i).startsWith("|"); i++) {
      if (lines.get(i).startsWith("| ---")) continue;
      List<String> cells = new ArrayList<>();
      for (String c : lines.get(i).substring(1, lines.get(i).length() - 1).split("\\|")) cells.add(c.trim());
      rows.add(cells);
    }
    return rows;
  }
}
