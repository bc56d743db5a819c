package org.charsight.train;

import java.util.function.Supplier;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.SparkProgress;
import org.charsight.shards.ShardSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What a training stage's run holds whatever it trains: Spark and its workers, the shards, the output and its checkpoints. */
abstract class TrainingRun {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);
  final String stage;
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
  /** Names this run to its barrier workers, which keep their networks for its next chunk and drop older runs'. */
  final String id = java.util.UUID.randomUUID().toString();

  TrainingRun(String stage, SparkSession spark, ShardSet shards, FileSystem fs, Path out, long t0, boolean barrier) {
    this.stage = stage;
    this.barrier = barrier;
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

  /** Whether chunks still try barrier averaging: until one of its jobs fails. */
  private boolean barrier;
  /** Whether the last chunk found fewer task slots than workers (logged when that changes). */
  private boolean slotsShort;

  /**
   * Barrier averaging while the cluster allows it, else DL4J's master. Both do the same arithmetic,
   * so a chunk gives the same models either way: a chunk short of task slots (an executor lost, or
   * fewer slots than Spark's default parallelism) trains with DL4J's master, and a failed barrier
   * job hands its chunk, from the chunk's start, to DL4J's master for the rest of the run. A barrier
   * job changes the driver's network only once it succeeded.
   */
  <T> T averaged(int round, int done, Supplier<T> withBarrier, Supplier<T> withDl4j) {
    if (barrier) {
      int slots = BarrierAveraging.slotsNow(jsc);
      if (slots < workers != slotsShort) {
        slotsShort = slots < workers;
        if (slotsShort) {
          LOG.warn("{}: {} task slot{} for {} workers: DL4J's master trains from round {} until a slot per worker is back "
              + "(barrier averaging runs every worker at once)", stage, slots, slots == 1 ? "" : "s", workers, round + 1);
        } else {
          LOG.info("{}: a task slot per worker again: barrier averaging from round {}", stage, round + 1);
        }
      }
      if (!slotsShort) {
        try {
          return withBarrier.get();
        } catch (BarrierAveraging.Unavailable e) {
          barrier = false;
          LOG.warn("{}: barrier averaging failed in rounds {}-{} ({}); DL4J's master trains them again from their start, "
              + "and the rest of this run (the same arithmetic)", stage, round + 1, done, e.getMessage());
          LOG.debug("{}: the barrier job's failure", stage, e);
        }
      }
    }
    return withDl4j.get();
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
   * Runs the training loop with Spark's own progress lines off (the stage reports rounds, and DL4J's
   * many short Spark jobs would only repeat task counts), then drops the networks this run's barrier
   * workers kept in the driver's JVM (local mode): the next stage there has their memory back at once.
   * Executors elsewhere drop theirs when a later run's worker comes ({@link WarmNetworks}).
   */
  <T> T loop(Supplier<T> loop) {
    jsc.setLocalProperty(SparkProgress.QUIET, "true");
    try {
      return loop.get();
    } finally {
      jsc.setLocalProperty(SparkProgress.QUIET, null);
      WarmNetworks.drop(id);
    }
  }

  void loop(Runnable loop) {
    loop(() -> {
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
