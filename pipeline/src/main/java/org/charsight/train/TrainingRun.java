package org.charsight.train;

import java.util.function.Supplier;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.SparkProgress;
import org.charsight.shards.ShardSet;

/** What a training stage's run holds whatever it trains: Spark and its workers, the shards, the output and its checkpoints. */
abstract class TrainingRun {
  final SparkSession spark;
  final JavaSparkContext jsc;
  final ShardSet shards;
  final FileSystem fs;
  final Path out;
  /** When the stage started, for the wall time logged with every metrics row. */
  final long t0;
  final int ctx;
  final int workers;
  final Checkpoints checkpoints;

  TrainingRun(String stage, SparkSession spark, ShardSet shards, FileSystem fs, Path out, long t0) {
    this.spark = spark;
    this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.shards = shards;
    this.fs = fs;
    this.out = out;
    this.t0 = t0;
    this.ctx = shards.context();
    this.workers = jsc.defaultParallelism();
    this.checkpoints = new Checkpoints(stage, fs, out);
  }

  /** The round this run started training at (after a resumed checkpoint), when, and how many arms train. */
  int firstRound;
  long firstNanos = System.nanoTime();
  int arms = 1;
  /** Rounds trained so far by all arms together: the unit of the ETA, as arms train one after another. */
  long armRounds;

  void startsAt(int round, int armCount) {
    firstRound = round;
    firstNanos = System.nanoTime();
    arms = Math.max(1, armCount);
  }

  /**
   * Runs the training loop with Spark's own progress lines off: the stage reports rounds, and DL4J's
   * many short Spark jobs would only repeat task counts.
   */
  <T> T quietly(Supplier<T> loop) {
    jsc.setLocalProperty(SparkProgress.QUIET, "true");
    try {
      return loop.get();
    } finally {
      jsc.setLocalProperty(SparkProgress.QUIET, null);
    }
  }

  void quietly(Runnable loop) {
    quietly(() -> {
      loop.run();
      return null;
    });
  }

  /** After an arm trained {@code chunkRounds} more: "round 20/40, ETA 1 min 40 s", the ETA from the pace so far. */
  String progress(int done, int total, int chunkRounds) {
    armRounds += chunkRounds;
    return "round " + done + "/" + total + ", ETA "
        + SparkProgress.eta(firstNanos, armRounds, (double) (total - firstRound) * arms);
  }
}
