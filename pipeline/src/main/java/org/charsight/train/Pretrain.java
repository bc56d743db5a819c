package org.charsight.train;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.StableHash;
import org.charsight.common.UserError;
import org.charsight.model.Arch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.charsight.model.ModelFiles;
import org.charsight.model.WarmupCosineSchedule;
import org.charsight.shards.ShardSet;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.stats.SparkTrainingStats;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.stats.EventStats;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pretrain stage: every requested arm trained with DL4J's Spark trainer (parameter averaging)
 * on the same minibatches in the same order, in chunks of {@code pretrain.val_every} averaging
 * rounds. After each chunk and arm: validation loss on a fixed subset, a metrics row, and every
 * {@code pretrain.checkpoint_every} rounds an atomic checkpoint, from which {@code --resume}
 * continues.
 */
public final class Pretrain {
  private static final Logger LOG = LoggerFactory.getLogger(Pretrain.class);
  static final String STAGE = "pretrain";
  static final String METRICS_HEADER = "round,step,tokens,train_loss,val_loss,learning_rate,tokens_per_s,wall_s";

  private Pretrain() {}

  public record Options(String shards, String out, boolean overwrite, boolean resume, List<Arch> arms, int rounds,
      long maxTokens, double maxSeconds, int batchPerWorker, int averagingFrequency, int prefetch, int valEvery,
      int valWindows, int checkpointEvery, boolean trainingStats, boolean averageUpdaters, RDDTrainingApproach approach,
      Repartition repartition, int aggregationDepth, boolean barrier, long seed, CharsightConfig conf) {

    public static Options from(CharsightConfig c, String shards, String out, boolean overwrite, boolean resume, List<String> arms) {
      if (shards == null || out == null) throw new UserError(STAGE + ": --shards and --out are required");
      List<String> names = arms != null && !arms.isEmpty() ? arms : c.strings("pretrain.arms");
      List<Arch> parsed = new ArrayList<>();
      for (String a : names) parsed.add(Arch.parse("pretrain.arms", a.trim()));
      GptConfig.check(c, parsed);
      int valEvery = c.intAtLeast("pretrain.val_every", 1);
      int ckpt = c.intAtLeast("pretrain.checkpoint_every", 1);
      if (ckpt % valEvery != 0) {
        throw new UserError("pretrain.checkpoint_every: expected a multiple of pretrain.val_every=" + valEvery + ", got " + ckpt);
      }
      double maxSeconds = c.number("pretrain.max_seconds");
      if (maxSeconds < 0) throw new UserError("pretrain.max_seconds: expected a number >= 0 (0 = no limit), got " + maxSeconds);
      RDDTrainingApproach approach = c.oneOf("pretrain.rdd_training_approach", "direct", "export").equals("direct")
          ? RDDTrainingApproach.Direct : RDDTrainingApproach.Export;
      Repartition repartition = switch (c.oneOf("pretrain.repartition", "always", "never", "when-workers-differ")) {
        case "always" -> Repartition.Always;
        case "never" -> Repartition.Never;
        default -> Repartition.NumPartitionsWorkersDiffers;
      };
      // Barrier workers keep their minibatches for the whole chunk and hold them in memory.
      boolean barrier = c.oneOf("pretrain.averaging", "barrier", "dl4j").equals("barrier");
      if (barrier && approach != RDDTrainingApproach.Direct) {
        throw new UserError("pretrain.rdd_training_approach: expected direct with pretrain.averaging = barrier, got '"
            + c.string("pretrain.rdd_training_approach") + "' (set pretrain.averaging = dl4j to export minibatches)");
      }
      return new Options(shards, out, overwrite, resume, List.copyOf(parsed), c.intAtLeast("pretrain.rounds", 1),
          c.longAtLeast("pretrain.max_tokens", 0), maxSeconds, c.intAtLeast("pretrain.batch_per_worker", 1), c.intAtLeast("pretrain.averaging_frequency", 1),
          c.intAtLeast("pretrain.prefetch", 0), valEvery, c.intAtLeast("pretrain.val_windows", 1), ckpt,
          c.bool("pretrain.training_stats"), c.bool("pretrain.average_updaters"),
          approach, repartition, c.intAtLeast("pretrain.aggregation_depth", 1), barrier, c.longAtLeast("seed", Long.MIN_VALUE), c);
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    ShardSet shards = ShardSet.open(spark, o.shards());
    // Which ND4J backend the driver got (CPU build or -Pcuda); executors log theirs on first use.
    LOG.info("{}: ND4J backend {} on the driver", STAGE, Nd4j.getBackend().getClass().getSimpleName());
    FileSystem fs = TrainingOutputs.fileSystem(STAGE, spark, o.out());
    Path out = fs.makeQualified(new Path(o.out()));
    boolean fresh = TrainingOutputs.prepare(STAGE, fs, out, o.out(), o.overwrite(), o.resume(),
        o.arms().stream().map(a -> a.confName).toList(), METRICS_HEADER, o.rounds(), "pretrain.rounds");
    try {
      return train(spark, shards, fs, out, o, t0);
    } catch (Throwable e) { // Spark's exceptions are checked in Java's eyes, and thrown all the same
      TrainingOutputs.failed(STAGE, fs, out, fresh);
      throw e;
    }
  }

  /** The stage's story: start (or resume) the arms, train chunk by chunk with checkpoints, write the models. */
  private static Map<String, Object> train(SparkSession spark, ShardSet shards, FileSystem fs, Path out, Options o,
      long t0) {
    Training t = new Training(spark, shards, fs, out, o, t0);
    t.startsAt(t.startModels(), o.arms().size());
    int finished = t.loop(() -> {
      int done = t.firstRound;
      for (int round = done; round < o.rounds(); round += o.valEvery()) {
        if (budgetSpent(o, round, t.perRound * t.ctx, t0)) {
          LOG.info("{}: budget reached after round {} (pretrain.max_tokens / pretrain.max_seconds)", STAGE, round);
          break;
        }
        done = t.chunk(round, Math.min(o.valEvery(), o.rounds() - round));
        if (done % o.checkpointEvery() == 0 || done == o.rounds()) t.checkpoints.write(byName(t.models), done);
      }
      return done;
    });
    t.releaseOrder();
    return t.finish(finished);
  }

  /** One pretraining run's state: the arms' models, the epoch being read, where the output goes. */
  private static final class Training extends TrainingRun {
    final Options o;
    /** Windows per averaging round: every worker fits averaging_frequency minibatches. */
    final long perRound;
    final long available;
    final List<DataSet> val;
    final Map<Arch, LanguageModel> models = new LinkedHashMap<>();
    /** The shuffled orders of the epochs being read, by epoch: one, or two while a chunk spans an epoch's end. */
    final TreeMap<Integer, EpochOrder> orders = new TreeMap<>();

    Training(SparkSession spark, ShardSet shards, FileSystem fs, Path out, Options o, long t0) {
      super(STAGE, spark, shards, fs, out, t0, o.barrier());
      this.o = o;
      this.perRound = (long) workers * o.batchPerWorker() * o.averagingFrequency();
      this.available = shards.windows("train");
      if (perRound > available) {
        throw new UserError(STAGE + ": one averaging round needs " + perRound + " windows (" + workers + " workers x "
            + "pretrain.batch_per_worker=" + o.batchPerWorker() + " x pretrain.averaging_frequency=" + o.averagingFrequency()
            + ") but " + o.shards() + " has " + available + " training windows");
      }
      this.val = Validation.lmBatches(STAGE, shards, o.valWindows());
    }

    /** New models, or with --resume the checkpoint's; returns the round training starts after. */
    int startModels() {
      List<byte[]> vocabBytes = shards.vocabBytes();
      Map<String, GptConfig> wanted = new LinkedHashMap<>();
      for (Arch arch : o.arms()) {
        wanted.put(arch.confName, GptConfig.from(o.conf().with("model.arch", arch.confName), shards.vocabSize(), ctx));
      }
      Checkpoints.Resumed resumed = o.resume()
          ? checkpoints.resume(List.copyOf(wanted.keySet()), m -> checkBelongs(m, shards, out, wanted)) : null;
      int startRound = resumed == null ? 0 : resumed.round();
      // The char-shuffled control permutes spellings among the tokens the training data holds; a
      // resumed model carries its table already.
      BitSet occurring = resumed == null && o.arms().contains(Arch.CHAR_SHUFFLED) ? shards.occurringIds("train") : null;
      for (Arch arch : o.arms()) {
        LanguageModel m;
        if (resumed != null) {
          m = resumed.models().get(arch.confName);
          LOG.info("{}: {} resumes after round {}", STAGE, arch.confName, startRound);
        } else {
          m = LanguageModel.create(wanted.get(arch.confName), vocabBytes, occurring);
        }
        // Rows logged after the checkpoint are trained again: drop them so that none appears twice.
        TrainingOutputs.trimMetrics(STAGE, fs, new Path(new Path(out, arch.confName), "metrics.csv"), startRound);
        models.put(arch, m);
      }
      return startRound;
    }

    /**
     * Trains every arm on the same minibatches for rounds after {@code round}; returns the last round done. A
     * chunk that reaches an epoch's end goes on into the next epoch's order: every round trains its windows.
     */
    int chunk(int round, int chunkRounds) {
      long first = (long) round * perRound, end = first + perRound * chunkRounds; // windows, counted over all epochs
      jsc.setJobDescription("minibatches for rounds " + (round + 1) + "-" + (round + chunkRounds));
      JavaPairRDD<Long, int[]> windows = null;
      for (long at = first; at < end; ) {
        int e = (int) (at / available);
        long epochStart = e * available, upTo = Math.min(end, epochStart + available);
        JavaPairRDD<Long, int[]> part = order(e).windows(at - epochStart, upTo - epochStart, at - first);
        windows = windows == null ? part : windows.union(part);
        at = upTo;
      }
      JavaRDD<DataSet> batches = EpochOrder.batches(windows, end - first, o.batchPerWorker(), ctx, workers).cache();
      for (Arch arch : o.arms()) fit(arch, batches, round, chunkRounds, end - first);
      batches.unpersist(false);
      // Epochs wholly behind the next chunk are not read again.
      while (!orders.isEmpty() && (orders.firstKey() + 1L) * available <= end) orders.pollFirstEntry().getValue().release();
      return round + chunkRounds;
    }

    /** Epoch {@code e}'s shuffled order. */
    private EpochOrder order(int e) {
      return orders.computeIfAbsent(e, k -> EpochOrder.of(spark, new Path(o.shards(), "train").toString(), o.seed(), k));
    }

    void releaseOrder() {
      orders.values().forEach(EpochOrder::release);
      orders.clear();
    }

    private void fit(Arch arch, JavaRDD<DataSet> batches, int round, int chunkRounds, long windows) {
      long t1 = System.nanoTime();
      int done = round + chunkRounds;
      jsc.setJobDescription("train " + arch.confName + " rounds " + (round + 1) + "-" + done);
      // DL4J scores a minibatch as the loss summed over a sequence, averaged over sequences.
      double train = fitAveraged(arch, batches, windows, round, done) / ctx;
      LanguageModel m = models.get(arch);
      double valLoss = Validation.loss(m, val);
      if (!Double.isFinite(train) || !Double.isFinite(valLoss)) {
        throw new UserError(STAGE + ": " + arch.confName + " loss became " + (Double.isFinite(train) ? valLoss : train)
            + " at round " + done + "; the last good checkpoint is kept in " + out
            + " (lower model.optim.learning_rate or raise model.optim.clip_norm)");
      }
      double seconds = (System.nanoTime() - t1) / 1e9;
      GptConfig gc = m.config();
      double lr = new WarmupCosineSchedule(gc.learningRate(), gc.minLearningRate(), gc.warmupSteps(), gc.totalSteps())
          .valueAt(m.graph().getIterationCount(), 0);
      TrainingOutputs.appendMetrics(STAGE, fs, new Path(new Path(out, arch.confName), "metrics.csv"), String.format(Locale.ROOT,
          "%d,%d,%d,%.6f,%.6f,%.8f,%.1f,%.1f", done, m.graph().getIterationCount(), (long) done * perRound * ctx, train,
          valLoss, lr, windows * ctx / seconds, (System.nanoTime() - t0) / 1e9));
      LOG.info("{}: {} {}: train {} val {} ({} s, {} tokens/s)", STAGE, arch.confName,
          progress(done, o.rounds(), chunkRounds),
          String.format("%.4f", train), String.format("%.4f", valLoss), String.format("%.1f", seconds),
          String.format("%.0f", windows * ctx / seconds));
    }

    /** Barrier averaging while the cluster allows it, else DL4J's master ({@link TrainingRun#averaged}). */
    private double fitAveraged(Arch arch, JavaRDD<DataSet> batches, long windows, int round, int done) {
      return averaged(round, done, () -> fitBarrier(arch, batches, windows, round, done),
          () -> fitDl4j(arch, batches, round, done));
    }

    /** DL4J's master: Spark jobs for every averaging round. Returns the last round's mean minibatch score. */
    private double fitDl4j(Arch arch, JavaRDD<DataSet> batches, int round, int done) {
      // A training master per chunk, seeded by the chunk: a resumed run splits exactly as an
      // uninterrupted one would.
      SparkComputationGraph net = new SparkComputationGraph(jsc, models.get(arch).graph(), trainingMaster(o, round));
      net.setCollectTrainingStats(o.trainingStats());
      net.fit(batches);
      if (o.trainingStats()) recordTimeShares(fs, new Path(out, arch.confName), done, net, workers);
      models.put(arch, LanguageModel.wrap(models.get(arch), net.getNetwork()));
      return net.getScore();
    }

    /** One barrier job for the chunk, the same arithmetic as {@link #fitDl4j} (see {@link BarrierAveraging}). */
    private double fitBarrier(Arch arch, JavaRDD<DataSet> batches, long windows, int round, int done) {
      BarrierAveraging.Outcome r = BarrierAveraging.fit(jsc, models.get(arch).graph(), batches,
          EpochOrder.minibatches(windows, o.batchPerWorker()),
          o.repartition() == Repartition.Always ? BarrierAveraging.partitionSizes(batches) : null,
          new BarrierAveraging.Settings(workers, o.averagingFrequency(), o.batchPerWorker(), o.averageUpdaters(),
              StableHash.mix(o.seed() + round), id, arch.confName), new Path(out, BarrierAveraging.EXCHANGE));
      if (o.trainingStats()) recordBarrierTimes(fs, new Path(out, arch.confName), done, r, workers);
      return r.score();
    }

    /** The final models, then the manifest: its presence says the stage finished. */
    Map<String, Object> finish(int finished) {
      Map<String, Object> manifest = new LinkedHashMap<>();
      manifest.put("shards", shards.dir());
      manifest.put("tokenizer", shards.manifest().get("tokenizer"));
      manifest.put("context", ctx);
      manifest.put("arms", o.arms().stream().map(a -> a.confName).toList());
      manifest.put("rounds", finished);
      manifest.put("rounds_requested", o.rounds());
      manifest.put("workers", workers);
      manifest.put("windows_per_round", perRound);
      manifest.put("config", Map.of("pretrain", o.conf().section("pretrain"), "model", o.conf().section("model")));
      Map<String, Object> params = new LinkedHashMap<>();
      Map<String, Object> truncated = new LinkedHashMap<>();
      for (Arch a : o.arms()) {
        LanguageModel m = models.get(a);
        params.put(a.confName, m.graph().numParams());
        if (a == Arch.CHAR || a == Arch.CHAR_SHUFFLED) truncated.put(a.confName, m.truncatedTokens());
        ModelFiles.write(fs, new Path(new Path(out, a.confName), "model.zip"), m);
      }
      manifest.put("parameters", params);
      // Tokens longer than model.max_token_bytes, whose first bytes the char encoder does not see.
      if (!truncated.isEmpty()) manifest.put("char_encoder_truncated_tokens", truncated);
      manifest.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      Manifest m = new Manifest(STAGE);
      manifest.forEach(m::put);
      m.write(fs, out);
      return manifest;
    }
  }

  /** Tokens (all arms see the same) or wall time used up; checked between chunks. */
  static boolean budgetSpent(Options o, int roundsDone, long tokensPerRound, long startNanos) {
    if (o.maxTokens() > 0 && (long) roundsDone * tokensPerRound >= o.maxTokens()) return true;
    return o.maxSeconds() > 0 && (System.nanoTime() - startNanos) / 1e9 >= o.maxSeconds();
  }

  /** Per arm, a row per chunk that DL4J's master trained, and one per chunk of barrier averaging. */
  public static final String STATS = "spark-stats.csv";
  public static final String BARRIER_STATS = "spark-stats-barrier.csv";

  static final String STATS_HEADER = "round,master_fit_ms,worker_fit_ms_per_worker,other_share,averaging_rounds,"
      + "aggregate_ms,broadcast_create_ms,worker_broadcast_get_ms_per_worker,worker_init_ms_per_worker,split_ms,"
      + "process_params_ms,worker_task_ms_per_worker,worker_next_minibatch_ms_per_worker";

  /**
   * Where the time of a chunk went: DL4J's master-side fit time (split, broadcast, workers, aggregate)
   * against the time workers spent inside network.fit. The rest, other_share, is communication and
   * coordination: broadcasting parameters, averaging them, scheduling, building minibatches. Its
   * measured parts (summed over the chunk's averaging rounds) calibrate bench/README.md's scaling model.
   */
  private static void recordTimeShares(FileSystem fs, Path armDir, int round, SparkComputationGraph net, int workers) {
    var stats = net.getSparkTrainingStats();
    var nested = stats.getNestedTrainingStats();
    long master = sumMs(stats.getValue("ParameterAveragingMasterFitTimesMs"));
    double perWorker = perWorker(nested, "ParameterAveragingWorkerFitTimesMs", workers);
    // One broadcast per averaging round (the fit time is one event per call, covering all rounds).
    List<EventStats> rounds = stats.getValue("ParameterAveragingMasterBroadcastCreateTimesMs");
    statsRow(fs, new Path(armDir, STATS), STATS_HEADER, String.format(Locale.ROOT, "%d,%d,%.0f,%.4f,%d,%d,%d,%.0f,%.0f,%d,%d,%.0f,%.0f",
        round, master, perWorker, master == 0 ? 0 : 1 - perWorker / master, rounds == null ? 0 : rounds.size(),
        sumMs(stats.getValue("ParameterAveragingMasterAggregateTimesMs")),
        sumMs(stats.getValue("ParameterAveragingMasterBroadcastCreateTimesMs")),
        perWorker(nested, "ParameterAveragingWorkerBroadcastGetValueTimeMs", workers),
        perWorker(nested, "ParameterAveragingWorkerInitTimeMs", workers),
        sumMs(stats.getValue("ParameterAveragingMasterSplitTimesMs")),
        sumMs(stats.getValue("ParameterAveragingMasterProcessParamsUpdaterTimesMs")),
        // The worker's whole task body (network build, minibatches, fit, result), and its waits for the next minibatch.
        perWorker(nested, "WorkerFlatMapTotalTimeMs", workers),
        perWorker(nested, "WorkerFlatMapDataSetGetTimesMs", workers)));
  }

  static final String BARRIER_STATS_HEADER = "round,driver_ms,worker_fit_ms_per_worker,other_share,averaging_rounds,"
      + "broadcast_create_ms,apply_ms,worker_input_ms_per_worker,worker_init_ms_per_worker,worker_exchange_ms_per_worker,"
      + "worker_exchange_wait_ms_per_worker,worker_task_ms_per_worker,networks_built,worker_exchange_write_ms_per_worker,"
      + "worker_exchange_slices_ms_per_worker,worker_exchange_mean_ms_per_worker,worker_exchange_gather_ms_per_worker";

  /**
   * Where the time of a chunk went with barrier averaging: the driver's whole call (broadcast,
   * the one job, applying the result) against each worker's fit calls, exchanges (writing, averaging
   * and reading the files; of which waiting for the other workers' files), network build and input;
   * and how many workers built their network (the others took the one they kept from the last chunk).
   */
  private static void recordBarrierTimes(FileSystem fs, Path armDir, int round, BarrierAveraging.Outcome r, int workers) {
    BarrierAveraging.Timing t = r.timing();
    double fit = (double) t.fitMs() / workers;
    long[] parts = t.exchangePartsMs();
    statsRow(fs, new Path(armDir, BARRIER_STATS), BARRIER_STATS_HEADER, String.format(Locale.ROOT,
        "%d,%d,%.0f,%.4f,%d,%d,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%d,%.0f,%.0f,%.0f,%.0f",
        round, t.driverMs(), fit, t.driverMs() == 0 ? 0 : 1 - fit / t.driverMs(), r.rounds(), t.broadcastMs(), t.applyMs(),
        (double) t.inputMs() / workers, (double) t.buildMs() / workers, (double) t.exchangeMs() / workers,
        (double) t.waitMs() / workers, (double) t.taskMs() / workers, t.built(), (double) parts[0] / workers,
        (double) parts[1] / workers, (double) parts[2] / workers, (double) parts[3] / workers));
  }

  private static void statsRow(FileSystem fs, Path file, String header, String row) {
    try {
      if (!fs.exists(file)) {
        try (OutputStream os = fs.create(file, false)) {
          os.write((header + "\n").getBytes(StandardCharsets.UTF_8));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot write " + file, e);
    }
    TrainingOutputs.appendMetrics(STAGE, fs, file, row);
  }

  /** A worker-side statistic summed over the chunk, per worker (workers run side by side). */
  private static double perWorker(SparkTrainingStats nested, String key, int workers) {
    return nested == null ? 0 : (double) sumMs(nested.getValue(key)) / workers;
  }

  private static long sumMs(List<EventStats> events) {
    return events == null ? 0 : events.stream().mapToLong(EventStats::getDurationMs).sum();
  }

  static ParameterAveragingTrainingMaster trainingMaster(Options o, int round) {
    return new StepKeepingTrainingMaster(new ParameterAveragingTrainingMaster.Builder(o.batchPerWorker())
        .batchSizePerWorker(o.batchPerWorker())
        .averagingFrequency(o.averagingFrequency())
        .workerPrefetchNumBatches(o.prefetch())
        .saveUpdater(o.averageUpdaters())
        .rddTrainingApproach(o.approach())
        .repartionData(o.repartition())
        .aggregationDepth(o.aggregationDepth())
        .rngSeed(StableHash.mix(o.seed() + round))
        .collectTrainingStats(o.trainingStats()));
  }

  private static Map<String, LanguageModel> byName(Map<Arch, LanguageModel> models) {
    Map<String, LanguageModel> m = new LinkedHashMap<>();
    models.forEach((a, model) -> m.put(a.confName, model));
    return m;
  }

  /** Where the last complete checkpoint of all arms is recorded; --resume reads it. */
  public static final String POSITION = Checkpoints.POSITION;

  /** A checkpoint must come from these shards and this conf: anything else is another run. */
  private static void checkBelongs(LanguageModel m, ShardSet shards, Path out, Map<String, GptConfig> wanted) {
    if (m.config().vocab() != shards.vocabSize() || m.config().context() != shards.context()) {
      throw new UserError(STAGE + ": the checkpoint in " + out + " was trained on a vocabulary of "
          + m.config().vocab() + " and context " + m.config().context() + "; " + shards.dir() + " has "
          + shards.vocabSize() + " and " + shards.context() + " (different shards or tokenizer)");
    }
    if (!m.config().equals(wanted.get(m.config().arch().confName))) {
      throw new UserError(STAGE + ": the model conf differs from the checkpoint's in " + new Path(out, m.config().arch().confName)
          + " (checkpoint: " + m.config() + "); resume with the conf the run started with");
    }
  }
}
