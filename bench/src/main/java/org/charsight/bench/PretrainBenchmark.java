package org.charsight.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;
import org.charsight.shards.Prepare;
import org.charsight.tokenize.TrainTokenizer;
import org.charsight.train.Pretrain;

/**
 * Spark pretraining throughput of the default model (conf/defaults.conf: d=128, 4 layers, 4 heads,
 * context 128, 16 windows per worker per minibatch; the model benchmark's configuration) on
 * local[1], local[2] and a two-JVM local-cluster, and the share of time outside the workers'
 * network.fit (parameter broadcast, averaging, scheduling, minibatch building) at averaging
 * frequencies 1, 5 and 20. Shards: the default corpus with a 4,096-token BPE.
 */
public final class PretrainBenchmark {
  /**
   * Arguments, all optional: a corpus directory, {@code --runs master:frequency,...} to measure only
   * those, and {@code key=value} conf overrides for the training runs (e.g. a Spark setting).
   */
  public static void main(String[] args) throws Exception {
    String corpusArg = "data/corpus";
    String[][] runs = {
        {"local[1]", "5"}, {"local[2]", "5"}, {"local-cluster[2,1,2048]", "5"},
        {"local-cluster[2,1,2048]", "1"}, {"local-cluster[2,1,2048]", "20"}};
    List<String> overrides = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--runs")) {
        runs = java.util.Arrays.stream(args[++i].split(",(?![^\\[]*\\])")).map(r -> {
          int colon = r.lastIndexOf(':');
          return new String[] {r.substring(0, colon), r.substring(colon + 1)};
        }).toArray(String[][]::new); // commas inside local-cluster[...] do not separate runs
      } else if (args[i].contains("=")) {
        overrides.add(args[i]);
      } else {
        corpusArg = args[i];
      }
    }
    Path corpus = Path.of(corpusArg);
    Path work = Files.createTempDirectory("charsight-bench-pretrain-");
    CharsightConfig base = CharsightConfig.load(null, List.of("progress.interval_ms=600000",
        "train_tokenizer.vocab_size=4096", "prepare.context=128", "prepare.val_fraction=0.02"));
    SparkSession prep = SparkSessions.start("bench-prep", "local[2]", base);
    TrainTokenizer.run(prep, TrainTokenizer.Options.from(base, List.of(corpus.toString()), work.resolve("tok").toString(),
        false), Map.of());
    CharsightConfig withTok = base.with("prepare.tokenizer", work.resolve("tok").toString());
    Prepare.run(prep, Prepare.Options.from(withTok, List.of(corpus.toString()), work.resolve("shards").toString(), false),
        Map.of());
    prep.stop();

    System.out.println("| master | averaging frequency | rounds | tokens/s (train) | share outside network.fit |");
    System.out.println("|---|---|---|---|---|");
    for (String[] r : runs) {
      int freq = Integer.parseInt(r[1]);
      int rounds = Math.max(4, 80 / freq); // about the same number of minibatches per run
      List<String> conf = new java.util.ArrayList<>(List.of("progress.interval_ms=600000",
          "pretrain.arms=[baseline]", "pretrain.batch_per_worker=16",
          "pretrain.averaging_frequency=" + freq, "pretrain.rounds=" + rounds, "pretrain.val_every=" + rounds,
          "pretrain.checkpoint_every=" + rounds, "pretrain.val_windows=16", "pretrain.training_stats=true",
          "spark.conf.spark.executor.memory=2g"));
      conf.addAll(overrides);
      CharsightConfig c = CharsightConfig.load(null, conf);
      SparkSession spark = SparkSessions.start("bench-pretrain", r[0], c);
      try {
        if (r[0].startsWith("local-cluster")) awaitExecutors(spark, 2);
        Path out = work.resolve("run-" + r[0].replaceAll("\\W", "") + "-" + freq);
        Pretrain.run(spark, Pretrain.Options.from(c, work.resolve("shards").toString(), out.toString(), false, false, null));
        List<String> metrics = Files.readAllLines(out.resolve("baseline/metrics.csv"));
        String[] last = metrics.get(metrics.size() - 1).split(",");
        List<String> stats = Files.readAllLines(out.resolve("baseline/spark-stats.csv"));
        String[] s = stats.get(stats.size() - 1).split(",");
        System.out.printf("| %s | %d | %d | %s | %.0f%% |%n", r[0], freq, rounds, last[6], 100 * Double.parseDouble(s[3]));
      } finally {
        spark.stop();
      }
    }
    System.out.printf("cores available: %d; java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
  }

  static void awaitExecutors(SparkSession spark, int n) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 120_000;
    while (spark.sparkContext().getExecutorIds().size() < n) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("executors did not start");
      Thread.sleep(200);
    }
  }
}
