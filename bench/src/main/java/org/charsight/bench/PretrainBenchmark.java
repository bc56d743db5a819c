package org.charsight.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;
import org.charsight.model.Batch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.charsight.shards.Prepare;
import org.charsight.shards.ShardSet;
import org.charsight.tokenize.TrainTokenizer;
import org.charsight.train.Pretrain;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Spark pretraining throughput of the default model (conf/defaults.conf: d=128, 4 layers, 4 heads,
 * context 128, 16 windows per worker per minibatch; the model benchmark's configuration) on
 * local[1], local[2] and a two-JVM local-cluster, and the share of time outside the workers'
 * network.fit (parameter broadcast, averaging, scheduling, minibatch building) at averaging
 * frequencies 1, 5 and 20. Shards: the default corpus with a 4,096-token BPE.
 *
 * <p>Against each run, the reference the stage is held to: the same model trained by a plain loop
 * of {@code LanguageModel.fit} in this process on minibatches of the same size, times the number of
 * workers. Overrides of {@code train_tokenizer.*}, {@code prepare.*} and {@code model.*} apply to
 * both, so {@code model.d_model=64 model.layers=2 prepare.context=64 train_tokenizer.vocab_size=512}
 * measures the quick study's small model.
 */
public final class PretrainBenchmark {
  /**
   * Arguments, all optional: a corpus directory, {@code --runs master:frequency[:averaging],...} to
   * measure only those (averaging: barrier or dl4j, else the conf's {@code pretrain.averaging}),
   * {@code --warmup S} seconds of training before the measured chunk (default 40; 0: one warm-up chunk, as before
   * this option), {@code --chunk R} rounds per chunk (the Spark job of {@code pretrain.val_every} rounds; default about
   * 40 minibatches per worker: 8 rounds at frequency 5, where {@code conf/study.conf} has 100), and
   * {@code key=value} conf overrides for the training runs (e.g. a Spark setting).
   *
   * <p>Why a warm-up: C2 finishes compiling the model's kernels 15-40 s into a JVM (docs/findings.md,
   * 2026-12-03), and an executor JVM of local-cluster starts cold. A run of a few chunks measured its
   * last one before that, against a loop in the warm driver JVM; a real run pays it once per executor.
   */
  public static void main(String[] args) throws Exception {
    String corpusArg = "data/corpus";
    double warmupSeconds = 40;
    int chunkRounds = 0;
    String[][] runs = {
        {"local[1]", "5"}, {"local[2]", "5"}, {"local-cluster[2,1,2048]", "5"},
        {"local-cluster[2,1,2048]", "1"}, {"local-cluster[2,1,2048]", "20"}};
    List<String> overrides = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--runs")) {
        // master:frequency[:averaging]; commas inside local-cluster[...] do not separate runs
        runs = java.util.Arrays.stream(args[++i].split(",(?![^\\[]*\\])")).map(r -> {
          String[] p = r.substring(r.lastIndexOf(']') + 1).split(":");
          String master = r.substring(0, r.lastIndexOf(']') + 1);
          return p.length > 2 ? new String[] {master, p[1], p[2]} : new String[] {master, p[1]};
        }).toArray(String[][]::new);
      } else if (args[i].equals("--warmup")) {
        warmupSeconds = Double.parseDouble(args[++i]);
      } else if (args[i].equals("--chunk")) {
        chunkRounds = Integer.parseInt(args[++i]);
      } else if (args[i].contains("=")) {
        overrides.add(args[i]);
      } else {
        corpusArg = args[i];
      }
    }
    Path corpus = Path.of(corpusArg);
    Path work = Files.createTempDirectory("charsight-bench-pretrain-");
    List<String> prep0 = new java.util.ArrayList<>(List.of("progress.interval_ms=600000",
        "train_tokenizer.vocab_size=4096", "prepare.context=128", "prepare.val_fraction=0.02"));
    prep0.addAll(overrides);
    CharsightConfig base = CharsightConfig.load(null, prep0);
    SparkSession prep = SparkSessions.start("bench-prep", "local[2]", base);
    TrainTokenizer.run(prep, TrainTokenizer.Options.from(base, List.of(corpus.toString()), work.resolve("tok").toString(),
        false), Map.of());
    CharsightConfig withTok = base.with("prepare.tokenizer", work.resolve("tok").toString());
    Prepare.run(prep, Prepare.Options.from(withTok, List.of(corpus.toString()), work.resolve("shards").toString(), false),
        Map.of());
    prep.stop();

    SparkSession reader = SparkSessions.start("bench-loop", "local[1]", base);
    ShardSet shards = ShardSet.open(reader, work.resolve("shards").toString());
    GptConfig model = GptConfig.from(base.with("model.arch", "baseline"), shards.vocabSize(), shards.context());
    // Enough minibatches that the loops do not learn them by heart: in a throwaway run a model trained a few thousand
    // steps on 30 minibatches (loss 0.1) ran about 5% slower than one on 400, which flattered the stage against it.
    List<DataSet> loopBatches = new java.util.ArrayList<>();
    List<int[]> windows = shards.firstWindows("train", 16 * 400);
    for (int i = 0; i + 16 <= windows.size(); i += 16) {
      loopBatches.add(Batch.of(windows.subList(i, i + 16).toArray(int[][]::new), shards.context(), DataType.FLOAT));
    }
    List<byte[]> vocabBytes = shards.vocabBytes();
    reader.stop();
    // warmupSeconds of steps first, for this JVM's compiler (the local runs' workers and every reference loop run
    // here) and for the model: the references train copies of it, as the stage's measured chunk trains a model
    // hundreds of steps in.
    LanguageModel warm = LanguageModel.create(model, vocabBytes);
    for (long t0 = System.nanoTime(), i = 0; System.nanoTime() - t0 < warmupSeconds * 1e9; i++) {
      warm.fit(loopBatches.get((int) (i % loopBatches.size())));
    }
    java.io.File snapshot = work.resolve("loop-model.zip").toFile();
    warm.save(snapshot);
    java.util.function.Supplier<LanguageModel> fresh = () -> LanguageModel.load(snapshot);
    // The loop's step time sizes each run's warm-up.
    double loopStepSeconds = 16.0 * shards.context() / loopTokensPerSecond(warm, loopBatches, shards.context());
    String label = String.format("d=%d L=%d T=%d V=%d", model.dModel(), model.layers(), model.context(), model.vocab());

    System.out.println("| model | master | averaging | averaging frequency | rounds per chunk | rounds | stage tokens/s (train) "
        + "| stage tokens/s (wall) | single-process loop tokens/s (before / after the run) | stage / (loop x workers) "
        + "| share outside network.fit | loops side by side, tokens/s | stage / loops side by side |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    List<String> perRound = new java.util.ArrayList<>();
    List<String> perBarrierRound = new java.util.ArrayList<>();
    int runNumber = 0;
    for (String[] r : runs) {
      int freq = Integer.parseInt(r[1]);
      // The last chunk is measured (by default about 40 minibatches per worker); the chunks before it warm up the
      // JIT compiler and the caches for about warmupSeconds of the loop's steps (at least one chunk).
      int chunk = chunkRounds > 0 ? chunkRounds : Math.max(2, 40 / freq);
      int warmChunks = Math.max(1, (int) Math.ceil(warmupSeconds / (chunk * freq * loopStepSeconds)));
      int rounds = chunk * (warmChunks + 1);
      List<String> conf = new java.util.ArrayList<>(List.of("progress.interval_ms=600000",
          "pretrain.arms=[baseline]", "pretrain.batch_per_worker=16",
          "pretrain.averaging_frequency=" + freq, "pretrain.rounds=" + rounds, "pretrain.val_every=" + chunk,
          "pretrain.checkpoint_every=" + rounds, "pretrain.val_windows=16", "pretrain.training_stats=true",
          "spark.conf.spark.executor.memory=2g"));
      conf.addAll(overrides);
      if (r.length > 2) conf.add("pretrain.averaging=" + r[2]);
      CharsightConfig c = CharsightConfig.load(null, conf);
      String averaging = c.string("pretrain.averaging");
      // As trained: a pretrain.rounds on the command line overrides the computed one.
      int trained = c.intAtLeast("pretrain.rounds", 1);
      Path out = work.resolve("run-" + (runNumber++) + "-" + r[0].replaceAll("\\W", "") + "-" + freq + "-" + averaging);
      int w = workers(r[0]);
      // The references before and after the run, averaged: the machine drifts over a run's minute or two.
      double[] loopBefore = references(fresh, w, loopBatches, shards.context());
      SparkSession spark = SparkSessions.start("bench-pretrain", r[0], c);
      try {
        if (r[0].startsWith("local-cluster")) awaitExecutors(spark, workers(r[0]) / cores(r[0]));
        Pretrain.run(spark, Pretrain.Options.from(c, work.resolve("shards").toString(), out.toString(), false, false, null));
      } finally {
        spark.stop();
      }
      List<String> metrics = Files.readAllLines(out.resolve("baseline/metrics.csv"));
      String[] last = metrics.get(metrics.size() - 1).split(",");
      List<String> stats = Files.readAllLines(out.resolve("baseline").resolve(averaging.equals("barrier") ? Pretrain.BARRIER_STATS
          : Pretrain.STATS));
      Map<String, Double> st = lastRow(stats);
      double outside = st.get("other_share");
      double n = st.get("averaging_rounds");
      if (averaging.equals("barrier")) {
        // One job per chunk: the driver's call holds the workers' tasks (input, network build, fit calls,
        // exchanges, of which waits for the other workers) and Spark's launch and results around them.
        double driverMs = st.get("driver_ms") / n, fitMs = st.get("worker_fit_ms_per_worker") / n;
        double exchangeMs = st.get("worker_exchange_ms_per_worker") / n;
        double waitMs = st.get("worker_exchange_wait_ms_per_worker") / n;
        double taskMs = st.get("worker_task_ms_per_worker") / n;
        perBarrierRound.add(String.format("| %s | %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f / %.0f / %.0f / %.0f | %.0f | %.0f | %.0f |",
            label, r[0], freq, driverMs, fitMs, driverMs - fitMs, exchangeMs - waitMs,
            st.get("worker_exchange_write_ms_per_worker") / n, st.get("worker_exchange_slices_ms_per_worker") / n,
            st.get("worker_exchange_mean_ms_per_worker") / n, st.get("worker_exchange_gather_ms_per_worker") / n, waitMs,
            (st.get("worker_input_ms_per_worker") + st.get("worker_init_ms_per_worker")) / n, driverMs - taskMs));
      } else {
        double masterMs = st.get("master_fit_ms") / n;
        double fitMs = st.get("worker_fit_ms_per_worker") / n;
        double aggMs = st.get("aggregate_ms") / n;
        double createMs = st.get("broadcast_create_ms") / n;
        double getMs = st.get("worker_broadcast_get_ms_per_worker") / n;
        double initMs = st.get("worker_init_ms_per_worker") / n;
        double splitMs = st.get("split_ms") / n;
        double processMs = st.get("process_params_ms") / n;
        double taskMs = st.get("worker_task_ms_per_worker") / n;
        double nextMs = st.get("worker_next_minibatch_ms_per_worker") / n;
        // The aggregate job runs the workers' tasks (broadcast fetch, network build, minibatches, fit, result) and
        // merges their results; what it takes beyond the tasks is Spark's: launching them, moving and merging results.
        perRound.add(String.format("| %s | %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |",
            label, r[0], freq, masterMs, fitMs, masterMs - fitMs, splitMs, createMs, processMs, masterMs - aggMs - splitMs
            - createMs - processMs, aggMs - fitMs, getMs, initMs, nextMs, taskMs - fitMs - getMs - initMs - nextMs,
            aggMs - taskMs));
      }
      double stageTrain = Double.parseDouble(last[6]);
      // The measured chunk's tokens over its wall time (validation and the metrics row included).
      String[] before = metrics.get(metrics.size() - 2).split(",");
      double stageWall = metrics.size() < 3 ? Double.parseDouble(last[2]) / Double.parseDouble(last[7])
          : (Double.parseDouble(last[2]) - Double.parseDouble(before[2])) / (Double.parseDouble(last[7]) - Double.parseDouble(before[7]));
      double[] loopAfter = references(fresh, w, loopBatches, shards.context());
      double loop = (loopBefore[0] + loopAfter[0]) / 2, side = (loopBefore[1] + loopAfter[1]) / 2;
      System.out.printf("| %s | %s | %s | %d | %d | %d | %.0f | %.0f | %.0f (%.0f / %.0f) | %.2f | %.0f%% | %.0f | %.2f |%n", label,
          r[0], averaging, freq, chunk, trained, stageTrain, stageWall, loop, loopBefore[0], loopAfter[0], stageTrain / (loop * w),
          100 * outside, side, stageTrain / side);
    }
    // Each round ships the parameters and both Adam moments out (broadcast) and back (one result per worker).
    System.out.printf("%nPer averaging round, ms (DL4J's training statistics); %,d parameters, %.1f MB each way per worker%n",
        warm.graph().numParams(), 3 * 4.0 * warm.graph().numParams() / 1e6);
    System.out.println("| model | master | averaging frequency | master fit | worker fit | outside fit | driver: split "
        + "| driver: broadcast | driver: apply result | driver: rest | in the job, outside fit | of which broadcast fetch "
        + "| of which network build | of which next minibatch | of which rest of the task | of which Spark: launch, results, merge |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    perRound.forEach(System.out::println);
    System.out.printf("%nPer averaging round with barrier averaging, ms (one Spark job per chunk; the workers' files)%n");
    System.out.println("| model | master | averaging frequency | driver | worker fit | outside fit | exchange: files "
        + "| of which write / slices and sum / mean / gather | exchange: waiting for the other workers "
        + "| input and network build | driver and Spark around the tasks |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    perBarrierRound.forEach(System.out::println);
    System.out.printf("cores available: %d; java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
  }

  /** The last row of a statistics file, by column name. */
  static Map<String, Double> lastRow(List<String> csv) {
    String[] header = csv.get(0).split(","), last = csv.get(csv.size() - 1).split(",");
    Map<String, Double> row = new java.util.HashMap<>();
    for (int i = 0; i < header.length; i++) row.put(header[i], Double.parseDouble(last[i]));
    return row;
  }

  /**
   * The loop's tokens/s and that of {@code workers} loops side by side (the loop's, for one), each on a copy of
   * the same trained model: one trained on and on over the runs would drift from what the stage trains.
   */
  static double[] references(java.util.function.Supplier<LanguageModel> fresh, int workers, List<DataSet> batches,
      int context) throws Exception {
    double one = loopTokensPerSecond(fresh.get(), batches, context);
    if (workers == 1) return new double[] {one, one};
    List<LanguageModel> side = new java.util.ArrayList<>();
    for (int i = 0; i < workers; i++) side.add(fresh.get());
    return new double[] {one, sideBySideTokensPerSecond(side, batches, context)};
  }

  /** A timed pass of the loop lasts at least this long: passes of 0.4 s (the small model) varied by half. */
  static final double PASS_SECONDS = 3;

  /**
   * Tokens per second of a plain fit loop: 3 warm-up minibatches, then passes over the rest (again from the
   * first when they run out) of at least {@link #PASS_SECONDS} each, three times; the median pass.
   */
  static double loopTokensPerSecond(LanguageModel m, List<DataSet> batches, int context) {
    for (int i = 0; i < 3; i++) m.fit(batches.get(i));
    double[] passes = new double[3];
    long tokens = batches.get(0).getFeatures().size(0) * context;
    for (int p = 0; p < passes.length; p++) {
      long t0 = System.nanoTime(), steps = 0;
      double seconds;
      do {
        m.fit(batches.get(3 + (int) (steps++ % (batches.size() - 3))));
        seconds = (System.nanoTime() - t0) / 1e9;
      } while (seconds < PASS_SECONDS);
      passes[p] = steps * tokens / seconds;
    }
    java.util.Arrays.sort(passes);
    return passes[1];
  }

  /**
   * Tokens/s of as many loops as {@code models}, each in a thread of its own on its own copy of the
   * minibatches, started together: what that many workers get from this machine with nothing around
   * them. Where workers share cores (two on this 2-vCPU machine, beside the driver) it is less than
   * the loop times the workers, and the stage cannot do better.
   */
  static double sideBySideTokensPerSecond(List<LanguageModel> models, List<DataSet> batches, int context) throws Exception {
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(models.size());
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(models.size());
    try {
      List<java.util.concurrent.Future<Double>> each = new java.util.ArrayList<>();
      for (LanguageModel m : models) {
        List<DataSet> own = batches.stream().map(DataSet::copy).toList();
        each.add(pool.submit(() -> {
          start.await();
          return loopTokensPerSecond(m, own, context);
        }));
      }
      double sum = 0;
      for (var f : each) sum += f.get();
      return sum;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Cores per executor of a local-cluster[executors, cores, memory] master; 1 otherwise. */
  static int cores(String master) {
    if (!master.startsWith("local-cluster")) return 1;
    return Integer.parseInt(master.substring(master.indexOf('[') + 1, master.indexOf(']')).split(",")[1].trim());
  }

  /** Workers of a master URL: local[N], or local-cluster[executors, cores, memory]. */
  static int workers(String master) {
    String inside = master.substring(master.indexOf('[') + 1, master.indexOf(']'));
    if (master.startsWith("local-cluster")) {
      String[] p = inside.split(",");
      return Integer.parseInt(p[0].trim()) * Integer.parseInt(p[1].trim());
    }
    return inside.equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(inside);
  }

  static void awaitExecutors(SparkSession spark, int n) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 120_000;
    while (spark.sparkContext().getExecutorIds().size() < n) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("executors did not start");
      Thread.sleep(200);
    }
  }
}
