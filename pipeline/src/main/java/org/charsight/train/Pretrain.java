package org.charsight.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.AtomicFiles;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.model.Arch;
import org.charsight.model.Batch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.charsight.shards.ShardSet;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
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
      Repartition repartition, long seed, CharsightConfig conf) {

    public static Options from(CharsightConfig c, String shards, String out, boolean overwrite, boolean resume, List<String> arms) {
      if (shards == null || out == null) throw new UserError(STAGE + ": --shards and --out are required");
      List<String> names = arms != null && !arms.isEmpty() ? arms : c.strings("pretrain.arms");
      List<Arch> parsed = new ArrayList<>();
      for (String a : names) parsed.add(Arch.parse("pretrain.arms", a.trim()));
      int valEvery = c.intAtLeast("pretrain.val_every", 1);
      int ckpt = c.intAtLeast("pretrain.checkpoint_every", 1);
      if (ckpt % valEvery != 0) {
        throw new UserError("pretrain.checkpoint_every: expected a multiple of pretrain.val_every=" + valEvery + ", got " + ckpt);
      }
      double maxSeconds = c.number("pretrain.max_seconds");
      if (maxSeconds < 0) throw new UserError("pretrain.max_seconds: expected a number >= 0 (0 = no limit), got " + maxSeconds);
      return new Options(shards, out, overwrite, resume, List.copyOf(parsed), c.intAtLeast("pretrain.rounds", 1),
          c.longAtLeast("pretrain.max_tokens", 0), maxSeconds, c.intAtLeast("pretrain.batch_per_worker", 1), c.intAtLeast("pretrain.averaging_frequency", 1),
          c.intAtLeast("pretrain.prefetch", 0), valEvery, c.intAtLeast("pretrain.val_windows", 1), ckpt,
          c.bool("pretrain.training_stats"), c.bool("pretrain.average_updaters"),
          c.oneOf("pretrain.rdd_training_approach", "direct", "export").equals("direct")
              ? RDDTrainingApproach.Direct : RDDTrainingApproach.Export,
          switch (c.oneOf("pretrain.repartition", "always", "never", "when-workers-differ")) {
            case "always" -> Repartition.Always;
            case "never" -> Repartition.Never;
            default -> Repartition.NumPartitionsWorkersDiffers;
          },
          c.longAtLeast("seed", Long.MIN_VALUE), c);
    }
  }

  /** Where training stands, written with every checkpoint. */
  record Position(int round) {}

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    ShardSet shards = ShardSet.open(spark, o.shards());
    // Which ND4J backend the driver got (CPU build or -Pcuda); executors log theirs on first use.
    LOG.info("{}: ND4J backend {} on the driver", STAGE, org.nd4j.linalg.factory.Nd4j.getBackend().getClass().getSimpleName());
    FileSystem fs = fileSystem(spark, o.out());
    Path out = fs.makeQualified(new Path(o.out()));
    prepareOutput(fs, out, o);

    int workers = jsc.defaultParallelism();
    long perRound = (long) workers * o.batchPerWorker() * o.averagingFrequency();
    long available = shards.windows("train");
    if (perRound > available) {
      throw new UserError(STAGE + ": one averaging round needs " + perRound + " windows (" + workers + " workers x "
          + "pretrain.batch_per_worker=" + o.batchPerWorker() + " x pretrain.averaging_frequency=" + o.averagingFrequency()
          + ") but " + o.shards() + " has " + available + " training windows");
    }
    List<DataSet> val = validationBatches(shards, o.valWindows());
    List<byte[]> vocabBytes = shards.vocabBytes();
    int ctx = shards.context();

    Map<Arch, LanguageModel> models = new LinkedHashMap<>();
    Position pos = o.resume() ? readPosition(fs, out) : null;
    int startRound = pos == null ? 0 : pos.round();
    for (Arch arch : o.arms()) {
      GptConfig c = GptConfig.from(o.conf().with("model.arch", arch.confName), shards.vocabSize(), ctx);
      Path armDir = new Path(out, arch.confName);
      LanguageModel m;
      if (pos != null) {
        m = loadCheckpoint(fs, armDir, shards, pos.round());
        if (!m.config().equals(c)) {
          throw new UserError(STAGE + ": the model conf differs from the checkpoint's in " + armDir + " (checkpoint: "
              + m.config() + "); resume with the conf the run started with");
        }
        LOG.info("{}: {} resumes after round {}", STAGE, arch.confName, pos.round());
      } else {
        m = LanguageModel.create(c, vocabBytes);
      }
      // Rows logged after the checkpoint are trained again: drop them so that none appears twice.
      trimMetrics(fs, new Path(armDir, "metrics.csv"), startRound);
      models.put(arch, m);
    }

    int epoch = -1;
    EpochOrder order = null;
    long seenBefore = 0;
    int finished = startRound;
    for (int round = startRound; round < o.rounds(); round += o.valEvery()) {
      if (budgetSpent(o, round, perRound * ctx, t0)) {
        LOG.info("{}: budget reached after round {} (pretrain.max_tokens / pretrain.max_seconds)", STAGE, round);
        break;
      }
      int chunkRounds = Math.min(o.valEvery(), o.rounds() - round);
      long first = (long) round * perRound;
      int e = (int) (first / available);
      if (e != epoch) {
        if (order != null) order.release();
        order = EpochOrder.of(spark, new Path(o.shards(), "train").toString(), o.seed(), e);
        epoch = e;
        seenBefore = (long) e * available;
      }
      long from = first - seenBefore;
      long to = Math.min(order.windows(), from + perRound * chunkRounds);
      jsc.setJobDescription("minibatches for rounds " + (round + 1) + "-" + (round + chunkRounds));
      JavaRDD<DataSet> batches = order.batches(from, to, o.batchPerWorker(), ctx, workers).cache();
      for (Arch arch : o.arms()) {
        long t1 = System.nanoTime();
        jsc.setJobDescription("train " + arch.confName + " rounds " + (round + 1) + "-" + (round + chunkRounds));
        // A training master per chunk, seeded by the chunk: a resumed run repartitions exactly as an
        // uninterrupted one would.
        SparkComputationGraph net = new SparkComputationGraph(jsc, models.get(arch).graph(), trainingMaster(o, round));
        net.setCollectTrainingStats(o.trainingStats());
        net.fit(batches);
        if (o.trainingStats()) recordTimeShares(fs, new Path(out, arch.confName), round + chunkRounds, net, workers);
        LanguageModel m = LanguageModel.wrap(models.get(arch), net.getNetwork());
        models.put(arch, m);
        // DL4J scores a minibatch as the loss summed over a sequence, averaged over sequences.
        double train = net.getScore() / ctx;
        double valLoss = validationLoss(m, val);
        if (!Double.isFinite(train) || !Double.isFinite(valLoss)) {
          throw new UserError(STAGE + ": " + arch.confName + " loss became " + (Double.isFinite(train) ? valLoss : train)
              + " at round " + (round + chunkRounds) + "; the last good checkpoint is kept in " + out
              + " (lower model.optim.learning_rate or raise model.optim.clip_norm)");
        }
        int done = round + chunkRounds;
        double seconds = (System.nanoTime() - t1) / 1e9;
        long tokens = (long) done * perRound * ctx;
        GptConfig gc = m.config();
        double lr = new org.charsight.model.WarmupCosineSchedule(gc.learningRate(), gc.minLearningRate(), gc.warmupSteps(),
            gc.totalSteps()).valueAt(m.graph().getIterationCount(), 0);
        appendMetrics(fs, new Path(new Path(out, arch.confName), "metrics.csv"), String.format(java.util.Locale.ROOT,
            "%d,%d,%d,%.6f,%.6f,%.8f,%.1f,%.1f", done, m.graph().getIterationCount(), tokens, train, valLoss, lr,
            (to - from) * ctx / seconds, (System.nanoTime() - t0) / 1e9));
        LOG.info("{}: {} round {}/{}: train {} val {} ({} s)", STAGE, arch.confName, done, o.rounds(),
            String.format("%.4f", train), String.format("%.4f", valLoss), String.format("%.1f", seconds));
        finished = done;
      }
      batches.unpersist(false);
      if (finished % o.checkpointEvery() == 0 || finished == o.rounds()) writeCheckpoint(fs, out, models, finished);
    }
    if (order != null) order.release();

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
    for (Arch a : o.arms()) {
      LanguageModel m = models.get(a);
      params.put(a.confName, m.graph().numParams());
      writeModel(fs, new Path(new Path(out, a.confName), "model.zip"), m);
    }
    manifest.put("parameters", params);
    manifest.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
    Manifest m = new Manifest(STAGE);
    manifest.forEach(m::put);
    m.write(fs, out);
    return manifest;
  }

  /** Tokens (all arms see the same) or wall time used up; checked between chunks. */
  static boolean budgetSpent(Options o, int roundsDone, long tokensPerRound, long startNanos) {
    if (o.maxTokens() > 0 && (long) roundsDone * tokensPerRound >= o.maxTokens()) return true;
    return o.maxSeconds() > 0 && (System.nanoTime() - startNanos) / 1e9 >= o.maxSeconds();
  }

  static final String STATS_HEADER = "round,master_fit_ms,worker_fit_ms_per_worker,other_share";

  /**
   * Where the time of a chunk went: DL4J's master-side fit time (split, broadcast, workers, aggregate)
   * against the time workers spent inside network.fit. The rest, other_share, is communication and
   * coordination: broadcasting parameters, averaging them, scheduling, building minibatches.
   */
  private static void recordTimeShares(FileSystem fs, Path armDir, int round, SparkComputationGraph net, int workers) {
    var stats = net.getSparkTrainingStats();
    long master = sumMs(stats.getValue("ParameterAveragingMasterFitTimesMs"));
    long worker = stats.getNestedTrainingStats() == null ? 0
        : sumMs(stats.getNestedTrainingStats().getValue("ParameterAveragingWorkerFitTimesMs"));
    double perWorker = (double) worker / workers;
    Path file = new Path(armDir, "spark-stats.csv");
    try {
      if (!fs.exists(file)) {
        try (OutputStream os = fs.create(file, false)) {
          os.write((STATS_HEADER + "\n").getBytes(StandardCharsets.UTF_8));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot write " + file, e);
    }
    appendMetrics(fs, file, String.format(java.util.Locale.ROOT, "%d,%d,%.0f,%.4f", round, master, perWorker,
        master == 0 ? 0 : 1 - perWorker / master));
  }

  private static long sumMs(List<org.deeplearning4j.spark.stats.EventStats> events) {
    return events == null ? 0 : events.stream().mapToLong(org.deeplearning4j.spark.stats.EventStats::getDurationMs).sum();
  }

  private static ParameterAveragingTrainingMaster trainingMaster(Options o, int round) {
    return new StepKeepingTrainingMaster(new ParameterAveragingTrainingMaster.Builder(o.batchPerWorker())
        .batchSizePerWorker(o.batchPerWorker())
        .averagingFrequency(o.averagingFrequency())
        .workerPrefetchNumBatches(o.prefetch())
        .saveUpdater(o.averageUpdaters())
        .rddTrainingApproach(o.approach())
        .repartionData(o.repartition())
        .rngSeed(org.charsight.common.StableHash.mix(o.seed() + round))
        .collectTrainingStats(o.trainingStats()));
  }

  static FileSystem fileSystem(SparkSession spark, String out) {
    try {
      return new Path(out).getFileSystem(spark.sparkContext().hadoopConfiguration());
    } catch (IOException e) {
      throw new UserError(STAGE + ": cannot use output " + out + ": " + e.getMessage(), e);
    }
  }

  private static void prepareOutput(FileSystem fs, Path out, Options o) {
    try {
      if (fs.exists(out) && !o.resume()) {
        if (!o.overwrite()) {
          throw new UserError(STAGE + ": output already exists: " + o.out() + " (pass --resume to continue it or --overwrite)");
        }
        fs.delete(out, true);
      }
      if (o.resume() && fs.exists(new Path(out, Manifest.FILE))) {
        JsonNode done = Manifest.read(out.toString(), fs.getConf(), STAGE);
        if (done.path("rounds").asInt() >= o.rounds()) {
          throw new UserError(STAGE + ": " + o.out() + " already finished " + done.path("rounds").asInt()
              + " rounds; raise pretrain.rounds to train further");
        }
      }
      fs.mkdirs(out);
      for (Arch a : o.arms()) {
        Path metrics = new Path(new Path(out, a.confName), "metrics.csv");
        if (!fs.exists(metrics)) {
          try (OutputStream os = fs.create(metrics, false)) {
            os.write((METRICS_HEADER + "\n").getBytes(StandardCharsets.UTF_8));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot prepare " + out, e);
    }
  }

  static List<DataSet> validationBatches(ShardSet shards, int count) {
    List<int[]> windows = shards.firstWindows("val", count);
    if (windows.isEmpty()) {
      throw new UserError(STAGE + ": " + shards.dir() + " has no validation windows (raise prepare.val_fraction)");
    }
    List<DataSet> out = new ArrayList<>();
    for (int i = 0; i < windows.size(); i += 16) {
      out.add(Batch.of(windows.subList(i, Math.min(windows.size(), i + 16)).toArray(int[][]::new), shards.context(),
          DataType.FLOAT));
    }
    return out;
  }

  static double validationLoss(LanguageModel m, List<DataSet> val) {
    double sum = 0;
    double tokens = 0;
    for (DataSet ds : val) {
      double n = Batch.countedTokens(ds);
      sum += m.loss(ds) * n;
      tokens += n;
    }
    return sum / tokens;
  }

  /** Appends by rewriting: object stores have no append, and the file is small. */
  static void appendMetrics(FileSystem fs, Path file, String row) {
    try {
      byte[] old;
      try (InputStream in = fs.open(file)) {
        old = in.readAllBytes();
      }
      byte[] add = (row + "\n").getBytes(StandardCharsets.UTF_8);
      byte[] all = java.util.Arrays.copyOf(old, old.length + add.length);
      System.arraycopy(add, 0, all, old.length, add.length);
      AtomicFiles.write(fs, file, all);
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot write " + file, e);
    }
  }

  /**
   * Every arm's model and updater as {@code <arm>/checkpoint-<round>.zip}, then {@code position.json}
   * naming that round: the position is the commit point, so a crash while some arms are written
   * leaves the previous round's files, which the position still names, whole. Older files go last.
   */
  private static void writeCheckpoint(FileSystem fs, Path out, Map<Arch, LanguageModel> models, int round) {
    for (Map.Entry<Arch, LanguageModel> e : models.entrySet()) {
      writeModel(fs, new Path(new Path(out, e.getKey().confName), checkpointName(round)), e.getValue());
    }
    try {
      AtomicFiles.write(fs, new Path(out, POSITION), Manifest.json().writeValueAsBytes(Map.of("round", round)));
      for (Arch a : models.keySet()) {
        for (var st : fs.listStatus(new Path(out, a.confName), p -> p.getName().matches("checkpoint-\\d+\\.zip"))) {
          if (!st.getPath().getName().equals(checkpointName(round))) fs.delete(st.getPath(), false);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot write checkpoint position in " + out, e);
    }
    LOG.info("{}: checkpoint of {} arm(s) at round {}", STAGE, models.size(), round);
  }

  /** Where the last complete checkpoint of all arms is recorded; --resume reads it. */
  public static final String POSITION = "position.json";

  static String checkpointName(int round) {
    return "checkpoint-" + round + ".zip";
  }

  private static void trimMetrics(FileSystem fs, Path file, int round) {
    try {
      if (!fs.exists(file)) return;
      List<String> keep = new ArrayList<>();
      boolean dropped = false;
      try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          boolean header = keep.isEmpty();
          if (header || Integer.parseInt(line.substring(0, line.indexOf(','))) <= round) keep.add(line);
          else dropped = true;
        }
      }
      if (!dropped) return;
      AtomicFiles.write(fs, file, (String.join("\n", keep) + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot rewrite " + file, e);
    }
  }

  static void writeModel(FileSystem fs, Path target, LanguageModel m) {
    try {
      File local = Files.createTempFile("charsight-model-", ".zip").toFile();
      try {
        m.save(local);
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
        fs.copyFromLocalFile(false, true, new Path(local.toURI()), tmp);
        fs.delete(target, false);
        if (!fs.rename(tmp, target)) throw new IOException("rename " + tmp + " -> " + target);
      } finally {
        Files.deleteIfExists(local.toPath());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot write " + target, e);
    }
  }

  private static Position readPosition(FileSystem fs, Path out) {
    Path pos = new Path(out, POSITION);
    try {
      if (!fs.exists(pos)) return null;
      try (InputStream in = fs.open(pos)) {
        return new Position(Manifest.json().readTree(in).path("round").asInt());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot read " + pos, e);
    }
  }

  private static LanguageModel loadCheckpoint(FileSystem fs, Path armDir, ShardSet shards, int round) {
    try {
      Path file = new Path(armDir, checkpointName(round));
      if (!fs.exists(file)) {
        throw new UserError(STAGE + ": " + new Path(armDir.getParent(), POSITION) + " names round " + round + " but " + file
            + " is missing (is this arm in the run being resumed?)");
      }
      File local = Files.createTempFile("charsight-ckpt-", ".zip").toFile();
      try {
        fs.copyToLocalFile(false, file, new Path(local.toURI()), true);
        LanguageModel m = LanguageModel.load(local);
        if (m.config().vocab() != shards.vocabSize() || m.config().context() != shards.context()) {
          throw new UserError(STAGE + ": the checkpoint in " + armDir + " was trained on a vocabulary of "
              + m.config().vocab() + " and context " + m.config().context() + "; " + shards.dir() + " has "
              + shards.vocabSize() + " and " + shards.context() + " (different shards or tokenizer)");
        }
        return m;
      } finally {
        Files.deleteIfExists(local.toPath());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(STAGE + ": cannot read checkpoint in " + armDir, e);
    }
  }
}
