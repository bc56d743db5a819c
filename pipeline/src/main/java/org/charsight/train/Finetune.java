package org.charsight.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.StableHash;
import org.charsight.common.UserError;
import org.charsight.model.Batch;
import org.charsight.model.LanguageModel;
import org.charsight.model.ModelFiles;
import org.charsight.shards.ShardSet;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The finetune stage: each pretrained arm continues on a mixture of language-model windows and
 * task examples ({@code finetune.lm_fraction} of the minibatch rows are LM, as the published run's
 * 0.1), with loss on the answer tokens only for task rows, the two weighted by
 * {@code finetune.lm_weight} ({@link #lossWeights}), on Spark like pretraining. Every arm
 * sees the same minibatches. Logs LM and task validation loss per arm (the published Fig. 4).
 */
public final class Finetune {
  private static final Logger LOG = LoggerFactory.getLogger(Finetune.class);
  static final String STAGE = "finetune";
  static final String METRICS_HEADER = "round,step,lm_val_loss,task_val_loss,wall_s";

  private Finetune() {}

  /** @param phases fine-tuning's phases, in order ({@link Phase}); one unless {@code finetune.phases} lists more */
  public record Options(String pretrained, String tasks, String out, boolean overwrite, boolean resume, List<Phase> phases,
      int batchPerWorker, int averagingFrequency, int aggregationDepth, boolean barrier, int valEvery, int checkpointEvery,
      int valExamples, long seed) {

    public static Options from(CharsightConfig c, String pretrained, String tasks, String out, boolean overwrite) {
      return from(c, pretrained, tasks, out, overwrite, false);
    }

    public static Options from(CharsightConfig c, String pretrained, String tasks, String out, boolean overwrite,
        boolean resume) {
      if (pretrained == null || tasks == null || out == null) {
        throw new UserError(STAGE + ": --from, --tasks and --out are required");
      }
      return new Options(pretrained, tasks, out, overwrite, resume, Phase.from(c), c.intAtLeast("finetune.batch_per_worker", 1),
          c.intAtLeast("finetune.averaging_frequency", 1), c.intAtLeast("finetune.aggregation_depth", 1),
          c.oneOf("finetune.averaging", "barrier", "dl4j").equals("barrier"), c.intAtLeast("finetune.val_every", 1),
          c.intAtLeast("finetune.checkpoint_every", 1), c.intAtLeast("finetune.val_examples", 1),
          c.longAtLeast("seed", Long.MIN_VALUE));
    }

    /** All phases' rounds. */
    public int rounds() {
      return Phase.totalRounds(phases);
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JsonNode pre = Manifest.read(o.pretrained(), jsc.hadoopConfiguration(), "pretrain");
    JsonNode tasksManifest = Manifest.read(o.tasks(), jsc.hadoopConfiguration(), "tasks");
    if (!pre.path("tokenizer").equals(tasksManifest.path("tokenizer"))) {
      throw new UserError(STAGE + ": " + o.tasks() + " was made with tokenizer " + tasksManifest.at("/tokenizer/name")
          + " but " + o.pretrained() + " was trained with " + pre.at("/tokenizer/name"));
    }
    ShardSet shards = ShardSet.open(spark, pre.path("shards").asText());
    FileSystem fs = TrainingOutputs.fileSystem(STAGE, spark, o.out());
    Path out = fs.makeQualified(new Path(o.out()));
    List<String> arms = new ArrayList<>();
    pre.path("arms").forEach(a -> arms.add(a.asText()));
    boolean fresh = TrainingOutputs.prepare(STAGE, fs, out, o.out(), o.overwrite(), o.resume(), arms, METRICS_HEADER,
        o.rounds(), "finetune.rounds");
    try {
      return train(spark, pre, shards, fs, out, arms, o, t0);
    } catch (Throwable e) { // Spark's exceptions are checked in Java's eyes, and thrown all the same
      TrainingOutputs.failed(STAGE, fs, out, fresh);
      throw e;
    }
  }

  /** The stage's story: read the data, start (or resume) the arms, train chunk by chunk, write the models. */
  private static Map<String, Object> train(SparkSession spark, JsonNode pre, ShardSet shards, FileSystem fs, Path out,
      List<String> arms, Options o, long t0) {
    Training t = new Training(spark, shards, fs, out, o, t0);
    t.startsAt(t.startModels(arms), arms.size());
    t.loop(() -> {
      for (int round = t.firstRound; round < o.rounds(); ) {
        int[] phase = Phase.at(o.phases(), round);
        int phaseEnd = phase[1] + o.phases().get(phase[0]).rounds();
        if (round == phase[1] && phase[0] > 0) t.startPhase(phase[0]);
        int done = t.chunk(round, Math.min(o.valEvery(), phaseEnd - round), o.phases().get(phase[0]));
        if (done / o.checkpointEvery() > round / o.checkpointEvery() || done == o.rounds()) t.checkpoints.write(t.models, done);
        round = done;
      }
    });
    return t.finish(pre);
  }

  /** One fine-tuning run's state: its data, the arms' models, where the output goes. */
  private static final class Training extends TrainingRun {
    final Options o;
    final String examples;
    final Map<String, LanguageModel> models = new LinkedHashMap<>();
    List<DataSet> lmVal;
    List<DataSet> taskVal;
    /** Minibatch sources on the executors: (window, weights; null weights count every position). */
    JavaRDD<Tuple2<int[], float[]>> lm;
    JavaRDD<Tuple2<int[], float[]>> task;
    long lmCount;
    long taskCount;
    long allTrain;
    /** Each phase's optimiser steps per worker: the length of its learning-rate schedule. */
    int[] steps;

    Training(SparkSession spark, ShardSet shards, FileSystem fs, Path out, Options o, long t0) {
      super(STAGE, spark, shards, fs, out, t0, o.barrier());
      this.o = o;
      this.examples = new Path(o.tasks(), "examples").toString();
      readData();
      this.steps = new int[o.phases().size()];
      for (int i = 0; i < steps.length; i++) steps[i] = expectedSteps(o, o.phases().get(i), workers, lmCount, taskCount);
    }

    private void readData() {
      lmVal = Validation.lmBatches(STAGE, shards, o.valExamples());
      // An example longer than the context cannot be trained or scored whole; such examples are left out.
      String fits = "size(tokens) <= " + (ctx + 1);
      // The same number of validation examples from every task, so that no task's loss hides another's.
      long families = spark.read().parquet(examples).where("split = 'val_train_words'").select("task").distinct().count();
      long perTask = Math.max(1, (o.valExamples() + families - 1) / Math.max(1, families));
      taskVal = taskBatches(spark.read().parquet(examples).where("split = 'val_train_words' and " + fits)
          .selectExpr("*", "row_number() over (partition by task order by word, phrasing, prompt) as pick")
          .where("pick <= " + perTask).orderBy("task", "pick").collectAsList(), ctx);
      int c = ctx;
      lm = spark.read().parquet(new Path(shards.dir(), "train").toString()).select("tokens")
          .javaRDD().map(r -> new Tuple2<>(ints(r.getList(0)), null));
      task = spark.read().parquet(examples).where("split = 'train' and " + fits)
          .select("tokens", "answer_start").javaRDD().map(r -> taskWindow(ints(r.getList(0)), r.getInt(1), c));
      lmCount = lm.count();
      taskCount = task.count();
      allTrain = spark.read().parquet(examples).where("split = 'train'").count();
      if (taskCount == 0 || taskVal.isEmpty()) {
        throw new UserError(STAGE + ": none of the " + allTrain + " training examples in " + o.tasks()
            + " fits the model's context of " + ctx + " tokens (plus one); prepare the shards with a larger prepare.context"
            + " or use shorter tasks");
      }
      if (taskCount < allTrain) {
        LOG.warn("{}: {} of {} training examples are longer than the context ({} tokens) and are left out", STAGE,
            allTrain - taskCount, allTrain, ctx);
      }
    }

    /** The pretrained models with fine-tuning's schedule, or with --resume the checkpoint's; returns the round to start at. */
    int startModels(List<String> arms) {
      Checkpoints.Resumed resumed = o.resume() ? checkpoints.resume(arms, m -> checkBelongs(m, shards, out)) : null;
      int startRound = resumed == null ? 0 : resumed.round();
      for (String name : arms) {
        LanguageModel model;
        if (resumed != null) {
          // The checkpoint carries the fine-tuning schedule and its position in it.
          model = resumed.models().get(name);
          LOG.info("{}: {} resumes after round {}", STAGE, name, startRound);
        } else {
          model = ModelFiles.read(fs, new Path(new Path(o.pretrained(), name), "model.zip"));
          startSchedule(model, 0);
        }
        TrainingOutputs.trimMetrics(STAGE, fs, new Path(new Path(out, name), "metrics.csv"), startRound);
        models.put(name, model);
      }
      return startRound;
    }

    /** Phase {@code i}'s learning-rate schedule, from the model's current step (a checkpoint carries it on). */
    private void startSchedule(LanguageModel model, int i) {
      Phase p = o.phases().get(i);
      model.startLearningRateSchedule(p.learningRate(), p.minLearningRate(), p.warmupSteps(), steps[i]);
    }

    void startPhase(int i) {
      LOG.info("{}: phase {} of {} from round {}: {}", STAGE, i + 1, o.phases().size(),
          o.phases().subList(0, i).stream().mapToInt(Phase::rounds).sum(), o.phases().get(i));
      for (LanguageModel m : models.values()) startSchedule(m, i);
    }

    /** Trains every arm on the same mixed minibatches for the rounds after {@code round}; returns the last round done. */
    int chunk(int round, int chunkRounds, Phase phase) {
      long want = rowsWanted(o, workers, chunkRounds);
      long seed = StableHash.mix(o.seed() + round);
      double pLm = phase.lmFraction() * want / Math.max(1, lmCount);
      double pTask = (1 - phase.lmFraction()) * want / Math.max(1, taskCount);
      JavaRDD<Tuple2<Integer, Tuple2<int[], float[]>>> mix = sample(lm, pLm, seed).union(sample(task, pTask, seed + 1));
      JavaRDD<DataSet> batches = batches(mix, seed, o.batchPerWorker(), ctx, workers, phase.lmWeight()).cache();
      // Counted once for all arms: barrier averaging deals each round out by these sizes.
      int[] sizes = BarrierAveraging.partitionSizes(batches);
      int done = round + chunkRounds;
      for (Map.Entry<String, LanguageModel> e : models.entrySet()) {
        e.setValue(fit(e.getKey(), e.getValue(), batches, sizes, seed, round, done));
      }
      batches.unpersist(false);
      return done;
    }

    private LanguageModel fit(String arm, LanguageModel model, JavaRDD<DataSet> batches, int[] sizes, long seed, int round,
        int done) {
      jsc.setJobDescription("finetune " + arm + " rounds " + (round + 1) + "-" + done);
      LanguageModel m = averaged(round, done, () -> fitBarrier(arm, model, batches, sizes, seed),
          () -> fitDl4j(model, batches, seed));
      double lmLoss = Validation.loss(m, lmVal);
      double taskLoss = Validation.loss(m, taskVal);
      TrainingOutputs.appendMetrics(STAGE, fs, new Path(new Path(out, arm), "metrics.csv"), String.format(Locale.ROOT,
          "%d,%d,%.6f,%.6f,%.1f", done, m.graph().getIterationCount(), lmLoss, taskLoss, (System.nanoTime() - t0) / 1e9));
      LOG.info("{}: {} {}: LM val {} task val {}", STAGE, arm, progress(done, o.rounds(), done - round),
          String.format("%.4f", lmLoss), String.format("%.4f", taskLoss));
      return m;
    }

    /** DL4J's master: Spark jobs for every averaging round, each round's minibatches spread over the workers again. */
    private LanguageModel fitDl4j(LanguageModel model, JavaRDD<DataSet> batches, long seed) {
      SparkComputationGraph net = new SparkComputationGraph(jsc, model.graph(), trainingMaster(o, seed));
      net.fit(batches);
      return LanguageModel.wrap(model, net.getNetwork());
    }

    /** One barrier job for the chunk, DL4J's arithmetic with Repartition.Always (see {@link BarrierAveraging}). */
    private LanguageModel fitBarrier(String arm, LanguageModel model, JavaRDD<DataSet> batches, int[] sizes, long seed) {
      BarrierAveraging.fit(jsc, model.graph(), batches, IntStream.of(sizes).sum(), sizes,
          new BarrierAveraging.Settings(workers, o.averagingFrequency(), o.batchPerWorker(), true, seed, id, arm),
          new Path(out, BarrierAveraging.EXCHANGE));
      return model;
    }

    /** The final models, then the manifest: its presence says the stage finished. */
    Map<String, Object> finish(JsonNode pre) {
      Map<String, Object> manifest = new LinkedHashMap<>();
      manifest.put("pretrained", o.pretrained());
      manifest.put("tasks", o.tasks());
      manifest.put("shards", shards.dir());
      manifest.put("tokenizer", pre.get("tokenizer"));
      manifest.put("arms", new ArrayList<>(models.keySet()));
      manifest.put("rounds", o.rounds());
      List<Map<String, Object>> phases = new ArrayList<>();
      for (int i = 0; i < o.phases().size(); i++) {
        Phase p = o.phases().get(i);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rounds", p.rounds());
        m.put("lm_fraction", p.lmFraction());
        m.put("lm_weight", p.lmWeight());
        m.put("learning_rate", Map.of("peak", p.learningRate(), "floor", p.minLearningRate(), "warmup_steps", p.warmupSteps(),
            "steps", steps[i]));
        phases.add(m);
      }
      manifest.put("phases", phases);
      manifest.put("seed", o.seed());
      manifest.put("task_examples_used", taskCount);
      manifest.put("task_examples_too_long", allTrain - taskCount);
      for (Map.Entry<String, LanguageModel> e : models.entrySet()) {
        ModelFiles.write(fs, new Path(new Path(out, e.getKey()), "model.zip"), e.getValue());
      }
      manifest.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      Manifest m = new Manifest(STAGE);
      manifest.forEach(m::put);
      m.write(fs, out);
      return manifest;
    }
  }

  /** A checkpoint must come from a model of these shards: anything else is another run. */
  private static void checkBelongs(LanguageModel m, ShardSet shards, Path out) {
    if (m.config().vocab() != shards.vocabSize() || m.config().context() != shards.context()) {
      throw new UserError(STAGE + ": the checkpoint in " + out + " has a vocabulary of " + m.config().vocab()
          + " and context " + m.config().context() + "; " + shards.dir() + " has " + shards.vocabSize() + " and "
          + shards.context() + " (another pretrained model or tokenizer)");
    }
  }

  /**
   * Optimiser steps (per worker) a phase of fine-tuning will take, for the length of its learning-rate
   * schedule: each chunk of rounds asks for workers x batch x frequency rows per round, repeating rows
   * when there are fewer (see {@link #sample}), so about rounds x frequency.
   */
  static int expectedSteps(Options o, Phase phase, int workers, long lmCount, long taskCount) {
    long steps = 0;
    for (int round = 0; round < phase.rounds(); round += o.valEvery()) {
      long want = rowsWanted(o, workers, Math.min(o.valEvery(), phase.rounds() - round));
      double rows = (lmCount > 0 ? phase.lmFraction() * want : 0) + (taskCount > 0 ? (1 - phase.lmFraction()) * want : 0);
      steps += (long) Math.ceil(rows / o.batchPerWorker() / workers);
    }
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, steps));
  }

  /**
   * DL4J reshuffles each round's minibatches over the workers (Repartition.Always), and barrier
   * averaging deals them out the same way. Without it ({@link #batches} lays a chunk out as one
   * contiguous run per worker, as pretraining relies on) the quick study's fine-tuning gave other
   * numbers (docs/findings.md, 2026-12-02), so fine-tuning keeps it.
   */
  static ParameterAveragingTrainingMaster trainingMaster(Options o, long seed) {
    return new StepKeepingTrainingMaster(new ParameterAveragingTrainingMaster.Builder(o.batchPerWorker())
        .batchSizePerWorker(o.batchPerWorker()).averagingFrequency(o.averagingFrequency())
        .aggregationDepth(o.aggregationDepth()).saveUpdater(true).rngSeed(seed)
        .rddTrainingApproach(RDDTrainingApproach.Direct).repartionData(Repartition.Always));
  }

  /** Rows a chunk of rounds asks for: every worker fits averaging_frequency minibatches per round. */
  private static long rowsWanted(Options o, int workers, int rounds) {
    return (long) workers * o.batchPerWorker() * o.averagingFrequency() * rounds;
  }

  /** A task example as a training window: loss only where the next token is part of the answer. */
  static Tuple2<int[], float[]> taskWindow(int[] tokens, int answerStart, int ctx) {
    int n = Math.min(tokens.length, ctx + 1);
    int[] w = Arrays.copyOf(tokens, n);
    float[] weights = new float[ctx];
    // position t predicts token t+1: weight the predictions of answer tokens (and the end-of-text)
    for (int t = Math.max(0, answerStart - 1); t < n - 1; t++) weights[t] = 1;
    return new Tuple2<>(w, weights);
  }

  static List<DataSet> taskBatches(List<Row> rows, int ctx) {
    List<DataSet> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i += 16) {
      List<Row> part = rows.subList(i, Math.min(rows.size(), i + 16));
      int[][] w = new int[part.size()][];
      float[][] weights = new float[part.size()][];
      for (int j = 0; j < part.size(); j++) {
        Row r = part.get(j);
        Tuple2<int[], float[]> t = taskWindow(ints(r.getList(r.fieldIndex("tokens"))), r.getAs("answer_start"), ctx);
        w[j] = t._1();
        weights[j] = t._2();
      }
      out.add(Batch.of(w, weights, ctx, DataType.FLOAT));
    }
    return out;
  }

  /**
   * Each row floor(p) times, and once more when a hash of its tokens and the seed falls below the
   * fraction left: a chunk that asks for more rows than there are goes over them again, as epochs
   * do, so {@code finetune.rounds} is honoured however few the task rows. A hash rather than Spark's
   * {@code sample}, whose choice depends on how the input happens to be split into files and
   * partitions: the same tasks and seed must give the same fine-tuning wherever they are stored.
   * Rows carry their copy number, which {@link #batches} ranks them by, so copies are spread apart.
   */
  private static JavaRDD<Tuple2<Integer, Tuple2<int[], float[]>>> sample(JavaRDD<Tuple2<int[], float[]>> rdd, double p,
      long seed) {
    int whole = (int) Math.floor(p);
    double rest = p - whole;
    return rdd.flatMap(t -> {
      int copies = whole + (rest > 0 && StableHash.unit(seed + whole, t._1()) < rest ? 1 : 0);
      List<Tuple2<Integer, Tuple2<int[], float[]>>> out = new ArrayList<>(copies);
      for (int c = 0; c < copies; c++) out.add(new Tuple2<>(c, t));
      return out.iterator();
    });
  }

  /**
   * Rows ranked by a seeded hash of their tokens and copy number, cut into minibatches of
   * {@code batch} consecutive rows; partition p holds the p-th contiguous run of whole minibatches, in
   * rank order. The partition bounds are computed, not sampled: Spark's range partitioner (sortByKey)
   * samples with a seed derived from the RDD's id, which depends on how many RDDs the JVM made before
   * (other stages in the same experiment, another charsight version), and which minibatches a worker
   * gets decides the average it contributes, so sampled bounds made fine-tuning differ between runs.
   */
  static JavaRDD<DataSet> batches(JavaRDD<Tuple2<Integer, Tuple2<int[], float[]>>> items, long seed, int batch,
      int ctx, int partitions, double lmWeight) {
    JavaPairRDD<Long, Tuple2<int[], float[]>> ranked = items
        .mapToPair(c -> new Tuple2<>(StableHash.hash64(seed + c._1() * 0x9E3779B97F4A7C15L, c._2()._1()), c._2()))
        .sortByKey()
        .zipWithIndex() // a total order: the ranks do not depend on where the sort cut its partitions
        .mapToPair(t -> new Tuple2<>(t._2(), t._1()._2()));
    long count = ranked.count();
    long minibatches = Math.max(1, (count + batch - 1) / batch);
    return ranked.repartitionAndSortWithinPartitions(new MinibatchRanges(batch, minibatches, partitions))
        .mapPartitions(rows -> MinibatchRanges.cut(rows, batch).stream().map(b -> toBatch(b, ctx, lmWeight, seed)).iterator());
  }

  private static DataSet toBatch(List<Tuple2<int[], float[]>> rows, int ctx, double lmWeight, long seed) {
    int[][] w = new int[rows.size()][];
    for (int i = 0; i < w.length; i++) w[i] = rows.get(i)._1();
    return Batch.of(w, lossWeights(rows, ctx, lmWeight, seed), ctx, DataType.FLOAT);
  }

  /**
   * The positions a minibatch's loss counts, so that it is {@code lmWeight} x the mean LM loss plus
   * (1 - lmWeight) x the mean task loss, up to one factor for the whole minibatch (as published:
   * 0.1 LM, 0.9 task). The loss is a sum over counted positions, and an LM window has ~context of
   * them against a task row's few answer tokens, so counting all would make LM most of the gradient.
   * Instead every answer position of the task rows counts (n of them) and a seeded choice of
   * {@code round(n * lmWeight / (1 - lmWeight))} of the LM windows' positions (all of them if there
   * are fewer; a minibatch without task rows counts {@code lmWeight} of its LM positions). The
   * output layer takes weights of 0 and 1 only and no second [positions, vocabulary] array; the
   * chosen positions are an unbiased sample of the LM loss. LM rows are those without weights.
   */
  static float[][] lossWeights(List<Tuple2<int[], float[]>> rows, int ctx, double lmWeight, long seed) {
    float[][] weights = new float[rows.size()][];
    int taskPositions = 0;
    List<long[]> lmPositions = new ArrayList<>(); // {hash, row, position}
    for (int i = 0; i < rows.size(); i++) {
      float[] given = rows.get(i)._2();
      if (given != null) {
        weights[i] = given;
        for (float v : given) taskPositions += v != 0 ? 1 : 0;
      } else {
        weights[i] = new float[ctx];
        int n = Math.min(ctx, rows.get(i)._1().length - 1);
        long rowHash = StableHash.hash64(seed, rows.get(i)._1());
        for (int t = 0; t < n; t++) lmPositions.add(new long[] {StableHash.mix(rowHash + t), i, t});
      }
    }
    long keep = taskPositions > 0 ? Math.round(taskPositions * lmWeight / (1 - lmWeight))
        : Math.round(lmPositions.size() * lmWeight);
    lmPositions.sort(Comparator.comparingLong((long[] p) -> p[0]).thenComparingLong(p -> p[1]).thenComparingLong(p -> p[2]));
    for (int k = 0; k < Math.min(keep, lmPositions.size()); k++) {
      weights[(int) lmPositions.get(k)[1]][(int) lmPositions.get(k)[2]] = 1f;
    }
    return weights;
  }

  private static int[] ints(List<Integer> l) {
    int[] a = new int[l.size()];
    for (int i = 0; i < a.length; i++) a[i] = l.get(i);
    return a;
  }
}
