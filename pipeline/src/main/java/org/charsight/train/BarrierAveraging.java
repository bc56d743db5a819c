package org.charsight.train;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.datasets.iterator.IteratorMultiDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.util.ComputationGraphUtil;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Parameter averaging in one Spark job per chunk of rounds, with workers that keep their network
 * from round to round (and on their executor, from chunk to chunk: {@link WarmNetworks}).
 *
 * <p>DL4J's ParameterAveragingTrainingMaster runs each averaging round as Spark jobs of its own:
 * the driver broadcasts parameters and Adam moments, every worker builds a network, fits a few
 * minibatches and sends everything back to be summed on the driver. For a small model the job is most
 * of the round (bench/README.md: 50-600 ms of Spark around 200-800 ms of fitting). Here the workers
 * are the tasks of one barrier stage: they average among themselves through files
 * ({@link FileAverage}) and go on, and only the chunk's end comes back to the driver, which reads the
 * last mean from the same files.
 *
 * <p>The arithmetic is DL4J's: the same split of the chunk into rounds and the same minibatches for
 * each worker in the same order ({@link RoundPlan}: DL4J's own split, seeded as the master seeds it, and
 * with {@code Repartition.Always} its rebalancing, laid out by one shuffle per chunk), the mean of the
 * contributing workers' parameters and Adam state, the workers' step count set to the driver's at each
 * round. With two workers the models are bit for bit those of DL4J's master with {@code Repartition.Never}
 * (PretrainTest compares them) and with {@code Always} (FinetuneTest).
 */
final class BarrierAveraging {

  private BarrierAveraging() {}

  /** Where barrier workers exchange parameters, under the stage's output; removed after every chunk. */
  static final String EXCHANGE = "_averaging";

  /**
   * How the chunk is cut into rounds and averaged, and whose network it trains: workers keep their network
   * for the next chunk of the same {@code run} (a training stage's run) and {@code arm} ({@link WarmNetworks}).
   */
  record Settings(int workers, int frequency, int batchSize, boolean averageUpdaters, long rngSeed, String run, String arm)
      implements Serializable {}

  /**
   * The chunk's outcome on the driver: the workers' mean loss on their last minibatch (DL4J's score),
   * the rounds averaged, and timings.
   */
  record Outcome(double score, int rounds, Timing timing) {}

  /**
   * Milliseconds summed over the chunk: the driver's, and each worker's (summed over workers); and how many
   * workers built their network rather than taking the one they kept.
   */
  record Timing(long driverMs, long broadcastMs, long applyMs, long fitMs, long exchangeMs, long waitMs, long buildMs,
      long inputMs, long taskMs, int built, long[] exchangePartsMs) {}

  /**
   * What a worker sends back: every task its timings, and task 0 where the chunk's outcome is. With more
   * than one worker that is {@code mean}, the directory of the last averaged round, whose files hold the
   * mean of {@code length} floats (parameters, then the Adam state when averaged; null if no round was);
   * a lone worker sends its parameters and Adam state as {@code state}.
   */
  record Report(int task, float[] state, String mean, long length, double score, int rounds, long fitMs,
      long exchangeMs, long waitMs, long buildMs, long inputMs, long taskMs, boolean built, long[] exchangePartsMs)
      implements Serializable {}

  /**
   * Trains {@code net} on {@code batches} ({@code total} minibatches, cached) and leaves the averaged
   * parameters, Adam state and step count in it. {@code sizes} null: DL4J's {@code Repartition.Never},
   * one partition per worker, each partition's share of a round its worker's. Otherwise each partition's
   * minibatches ({@link #partitionSizes}), for DL4J's {@code Repartition.Always}: a round's minibatches spread
   * over the workers again wherever they are not {@code frequency} per worker ({@link RoundPlan}).
   * The workers' files go under {@code shared}, which must be reachable from every executor, or with a local
   * master to memory when there is room ({@link MemoryExchange}); they are deleted afterwards.
   */
  static Outcome fit(JavaSparkContext jsc, ComputationGraph net, JavaRDD<DataSet> batches, long total, int[] sizes,
      Settings s, Path shared) {
    long t0 = System.nanoTime();
    if (sizes == null && batches.getNumPartitions() != s.workers()) {
      throw new IllegalStateException("barrier averaging needs one partition per worker: " + batches.getNumPartitions()
          + " partitions for " + s.workers() + " workers");
    }
    // As DL4J's master, which counts the minibatches in a job of its own and seeds its split so.
    int splits = RoundPlan.splits(total, s.frequency(), s.workers());
    long splitSeed = new Random(s.rngSeed()).nextLong();
    JavaRDD<Tuple2<Long, DataSet>> laidOut = sizes != null ? rebalanced(batches, sizes, splits, splitSeed, s)
        : batches.mapPartitionsWithIndex((p, rows) -> {
          List<DataSet> mine = new ArrayList<>();
          rows.forEachRemaining(mine::add);
          int[] round = RoundPlan.rounds(p, mine.size(), splits, splitSeed);
          List<Tuple2<Long, DataSet>> tagged = new ArrayList<>(mine.size());
          for (int i = 0; i < round.length; i++) tagged.add(new Tuple2<>(RoundPlan.key(p, round[i], i), mine.get(i)));
          return tagged.iterator();
        }, true);
    INDArray state = net.getUpdater().getStateViewArray();
    long b0 = System.nanoTime();
    Broadcast<NetBroadcastTuple> sent = jsc.broadcast(new NetBroadcastTuple(net.getConfiguration(), net.params(), state));
    long broadcastMs = (System.nanoTime() - b0) / 1_000_000;
    // A run killed mid-chunk leaves its files behind; its resumption must not read them.
    Path exchange = MemoryExchange.dir(jsc.master(), shared,
        (net.params().length() + (state == null ? 0 : state.length())) * Float.BYTES, s.workers());
    if (!exchange.equals(shared)) delete(jsc, shared);
    delete(jsc, exchange);
    Path job = new Path(exchange, UUID.randomUUID().toString());
    Worker worker = new Worker(sent, new SerializableConfiguration(jsc.hadoopConfiguration()), job.toString(), s,
        splits, s.averageUpdaters() ? WarmNetworks.Start.of(net) : null, net.getConfiguration().getIterationCount());
    List<Report> reports;
    String group = "barrier-" + job.getName();
    String description = jsc.getLocalProperty("spark.job.description");
    SlotWatch watch = new SlotWatch(jsc, group, s.workers());
    try {
      jsc.setJobGroup(group, description == null ? "barrier averaging" : description, false);
      reports = run(laidOut, worker);
    } catch (Throwable e) {
      // Spark's failures are SparkExceptions, checked exceptions Scala throws undeclared: hence Throwable.
      if (watch.failed != null) e.addSuppressed(watch.failed);
      try {
        delete(jsc, exchange);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      if (e instanceof Error error) throw error;
      String why = watch.cancelled != null ? watch.cancelled : String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      throw new Unavailable(why, e);
    } finally {
      watch.close();
      jsc.clearJobGroup();
      // clearJobGroup clears the description too; the caller's next jobs keep theirs.
      if (description != null) jsc.setJobDescription(description);
      sent.destroy();
    }
    long a0 = System.nanoTime();
    Report first = reports.stream().filter(r -> r.task() == 0).findFirst().orElseThrow();
    float[] averaged;
    try {
      averaged = first.mean() == null ? first.state() : readMean(jsc, first, s.workers());
    } catch (RuntimeException e) {
      try {
        delete(jsc, exchange);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw new Unavailable("cannot read the chunk's mean: " + e.getMessage(), e);
    }
    delete(jsc, exchange);
    apply(net, averaged, s.averageUpdaters() ? state : null, s.frequency() * first.rounds());
    long applyMs = (System.nanoTime() - a0) / 1_000_000;
    long fit = 0, exch = 0, wait = 0, build = 0, input = 0, task = 0;
    long[] exchParts = new long[FileAverage.Part.values().length];
    int built = 0;
    for (Report r : reports) {
      for (int i = 0; i < exchParts.length; i++) exchParts[i] += r.exchangePartsMs()[i];
      if (r.built()) built++;
      fit += r.fitMs();
      exch += r.exchangeMs();
      wait += r.waitMs();
      build += r.buildMs();
      input += r.inputMs();
      task += r.taskMs();
    }
    return new Outcome(first.score(), first.rounds(), new Timing((System.nanoTime() - t0) / 1_000_000, broadcastMs,
        applyMs, fit, exch, wait, build, input, task, built, exchParts));
  }

  /**
   * The chunk's minibatches laid out as DL4J's master with {@code Repartition.Always} hands them to the
   * workers: one shuffle for the chunk where DL4J spends a count, an index and a shuffle job on every round.
   * A chunk that needs no move (every round already frequency minibatches per partition) is not shuffled.
   */
  private static JavaRDD<Tuple2<Long, DataSet>> rebalanced(JavaRDD<DataSet> batches, int[] sizes, int splits,
      long splitSeed, Settings s) {
    long[][] keys = RoundPlan.rebalanced(sizes, splits, splitSeed, s.workers(), s.frequency()).keys();
    boolean stay = sizes.length == s.workers();
    for (int p = 0; p < keys.length && stay; p++) {
      for (long k : keys[p]) stay &= RoundPlan.worker(k) == p;
    }
    JavaRDD<Tuple2<Long, DataSet>> keyed = batches.mapPartitionsWithIndex((p, rows) -> {
      List<Tuple2<Long, DataSet>> out = new ArrayList<>(keys[p].length);
      for (int i = 0; rows.hasNext(); i++) out.add(new Tuple2<>(keys[p][i], rows.next()));
      return out.iterator();
    }, true);
    if (stay) return keyed;
    return JavaPairRDD.fromJavaRDD(keyed).repartitionAndSortWithinPartitions(new RoundPlan.ByWorker(s.workers()))
        .rdd().toJavaRDD();
  }

  /** Each partition's minibatches, in one job (what {@link #fit} rebalances by). */
  static int[] partitionSizes(JavaRDD<DataSet> batches) {
    return batches.mapPartitions(rows -> {
      int n = 0;
      for (; rows.hasNext(); rows.next()) n++;
      return List.of(n).iterator();
    }).collect().stream().mapToInt(Integer::intValue).toArray();
  }

  /** The one job: the workers as a barrier stage. */
  private static List<Report> run(JavaRDD<Tuple2<Long, DataSet>> input, Worker worker) {
    ClassTag<Report> tag = ClassTag$.MODULE$.apply(Report.class);
    // Spark retries a failed barrier stage whole only when it ends in a shuffle (a result stage is
    // not retried: its tasks may have committed output), so the reports cross one on their way.
    return new JavaRDD<>(input.rdd().barrier().mapPartitions(worker, false, tag), tag)
        .mapToPair(r -> new Tuple2<>(r.task(), r)).partitionBy(new HashPartitioner(1)).values().collect();
  }

  /**
   * The chunk's last mean, read on the driver from the files the workers left: the parameters and Adam
   * state do not travel back through Spark (a shuffle and a task result as large as the vector).
   * Read whole before any of it goes into the network, so a failed read leaves the network as it was.
   */
  private static float[] readMean(JavaSparkContext jsc, Report first, int workers) {
    Path dir = new Path(first.mean());
    int floats = Math.toIntExact(first.length());
    ByteBuffer all = ByteBuffer.allocate(Math.multiplyExact(floats, Float.BYTES)).order(FileAverage.ORDER);
    FileAverage.readMean(FileAverage.Store.open(dir, jsc.hadoopConfiguration()), dir, workers, new ByteBuffer[] {all});
    float[] v = new float[floats];
    all.rewind().asFloatBuffer().get(v);
    return v;
  }

  /**
   * The averaged parameters (and Adam state, when {@code state} is given) into the driver's network,
   * and its step count on by the steps trained; {@code averaged} null: no round was averaged. Without
   * averaged updaters DL4J leaves the driver's Adam state as it was; so does this.
   */
  private static void apply(ComputationGraph net, float[] averaged, INDArray state, int steps) {
    if (averaged != null) {
      int nParams = (int) net.params().length();
      long want = nParams + (state == null ? 0 : state.length());
      if (averaged.length < want) {
        throw new IllegalStateException("barrier averaging: the chunk's mean has " + averaged.length + " floats, the network "
            + want);
      }
      net.params().assign(Nd4j.createFromArray(Arrays.copyOf(averaged, nParams)).reshape(net.params().shape()));
      if (state != null) {
        state.assign(Nd4j.createFromArray(Arrays.copyOfRange(averaged, nParams, (int) want)).reshape(state.shape()));
      }
    }
    var conf = net.getConfiguration();
    conf.setIterationCount(conf.getIterationCount() + steps);
  }

  /** Task slots the cluster has now: Spark's own count, the one its barrier scheduling goes by. */
  static int slotsNow(JavaSparkContext jsc) {
    SparkContext sc = jsc.sc();
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }

  /**
   * A chunk that a barrier stage could not train: its job failed or was cancelled for want of task
   * slots. The driver's network is as it was before the chunk, so the caller can train the chunk another way.
   */
  static final class Unavailable extends RuntimeException {
    Unavailable(String why, Throwable cause) {
      super(why, cause);
    }
  }

  /** How long the cluster may have fewer task slots than workers before a barrier job is given up. */
  static final long SLOT_WAIT_NANOS = 30_000_000_000L;

  /**
   * Cancels a job group once the cluster has had fewer task slots than {@code workers} for
   * {@link #SLOT_WAIT_NANOS}. A barrier stage whose executor is lost is retried whole, and its retry
   * waits for as many free slots as it has tasks: with an executor gone for good, forever.
   */
  private static final class SlotWatch implements AutoCloseable {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "barrier-slot-watch");
      t.setDaemon(true);
      return t;
    });
    private long shortSince = -1;
    private volatile String cancelled;
    private volatile RuntimeException failed;

    SlotWatch(JavaSparkContext jsc, String group, int workers) {
      timer.scheduleWithFixedDelay(() -> {
        try {
          int slots = slotsNow(jsc);
          long now = System.nanoTime();
          if (slots >= workers) {
            shortSince = -1;
          } else if (shortSince < 0) {
            shortSince = now;
          } else if (cancelled == null && now - shortSince >= SLOT_WAIT_NANOS) {
            cancelled = "the cluster had " + slots + " task slot" + (slots == 1 ? "" : "s") + " for " + workers + " workers for "
                + SLOT_WAIT_NANOS / 1_000_000_000L + " s";
            jsc.cancelJobGroup(group);
          }
        } catch (RuntimeException e) {
          // Kept for the caller; thrown here it would only end the timer's runs silently.
          failed = e;
          throw e;
        }
      }, 1, 1, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      timer.shutdownNow();
    }
  }

  private static void delete(JavaSparkContext jsc, Path dir) {
    try {
      dir.getFileSystem(jsc.hadoopConfiguration()).delete(dir, true);
    } catch (IOException e) {
      throw new UncheckedIOException("parameter averaging: cannot delete " + dir, e);
    }
  }

  /** Barrier tasks start together; a minute without the others' hello means they cannot see each other's files. */
  static final long HELLO_LIMIT_NANOS = 60_000_000_000L;

  /** One barrier task: a worker that trains its share of every round of the chunk and averages with the others. */
  static final class Worker
      extends AbstractFunction1<scala.collection.Iterator<Tuple2<Long, DataSet>>, scala.collection.Iterator<Report>>
      implements Serializable {
    private final Broadcast<NetBroadcastTuple> sent;
    private final SerializableConfiguration hadoop;
    private final String exchange;
    private final Settings s;
    private final int splits;
    private final int firstStep;
    /** What the chunk starts from, for a kept network to compare itself with; null: always fetch the broadcast. */
    private final WarmNetworks.Start start;

    Worker(Broadcast<NetBroadcastTuple> sent, SerializableConfiguration hadoop, String exchange, Settings s, int splits,
        WarmNetworks.Start start, int firstStep) {
      this.sent = sent;
      this.hadoop = hadoop;
      this.exchange = exchange;
      this.s = s;
      this.splits = splits;
      this.start = start;
      this.firstStep = firstStep;
    }

    @Override
    public scala.collection.Iterator<Report> apply(scala.collection.Iterator<Tuple2<Long, DataSet>> rows) {
      long t0 = System.nanoTime();
      // TaskContext, not BarrierTaskContext: the latter's first use starts a timer thread that is not a
      // daemon (Spark 3.5), which kept a local-mode JVM alive after its main method ended.
      TaskContext ctx = TaskContext.get();
      int me = ctx.partitionId();
      List<List<MultiDataSet>> byRound = byRound(rows);
      long inputMs = (System.nanoTime() - t0) / 1_000_000;

      long b0 = System.nanoTime();
      WarmNetworks.Taken taken = WarmNetworks.take(s.run(), s.arm(), start, sent::getValue);
      ComputationGraph net = taken.net();
      // Without averaged updaters the broadcast is always fetched: its Adam state starts every round.
      INDArray initialState = s.averageUpdaters() ? null : sent.getValue().getUpdaterState();
      long buildMs = (System.nanoTime() - b0) / 1_000_000;

      Path dir = new Path(exchange, "attempt-" + ctx.stageAttemptNumber());
      FileAverage average = new FileAverage(FileAverage.Store.open(dir, hadoop.value()), dir, me, s.workers());
      if (s.workers() > 1) average.hello(ctx, HELLO_LIMIT_NANOS);
      Rounds done = trainRounds(ctx, net, byRound, average, initialState);
      long taskMs = (System.nanoTime() - t0) / 1_000_000;
      Report report = new Report(me, me == 0 && s.workers() == 1 ? vector(net, true) : null,
          me == 0 && done.lastMean() != null ? done.lastMean().toString() : null, done.length(), done.score(),
          done.rounds(), done.fitMs(), done.exchangeMs(), average.waitedNanos / 1_000_000, buildMs, inputMs, taskMs,
          taken.built(), Arrays.stream(average.partNanos).map(ns -> ns / 1_000_000).toArray());
      WarmNetworks.keep(s.run(), s.arm(), taken);
      return JavaConverters.asScalaIterator(List.of(report).iterator());
    }

    /**
     * What a worker's rounds came to: those averaged, the last loss, where the last mean is ({@code length}
     * floats: parameters then, when averaged, Adam state; null if no round was averaged among several workers),
     * and the time in {@code fit} and in the exchange.
     */
    private record Rounds(int rounds, double score, Path lastMean, long length, long fitMs, long exchangeMs) {}

    /** Fits every round of the chunk and averages each with the other workers. */
    private Rounds trainRounds(TaskContext ctx, ComputationGraph net, List<List<MultiDataSet>> byRound, FileAverage average,
        INDArray initialState) {
      long fitMs = 0, exchangeMs = 0;
      int rounds = 0;
      double score = 0;
      Path lastMean = null;
      long length = 0;
      for (int r = 0; r < splits; r++) {
        // Each round starts at the driver's step count, as a DL4J worker rebuilt from the broadcast does.
        net.getConfiguration().setIterationCount(firstStep + s.frequency() * rounds);
        long f0 = System.nanoTime();
        boolean fitted = fitRound(net, byRound.get(r).iterator());
        long e0 = System.nanoTime();
        fitMs += (e0 - f0) / 1_000_000;
        boolean averaged = fitted; // the mean of one network is itself
        if (fitted && s.workers() == 1) score = net.score();
        if (s.workers() > 1) {
          Vector v = new Vector(net, s.averageUpdaters());
          FileAverage.Mean mean = average.average(ctx, r, v.parts, fitted, fitted ? net.score() : 0);
          averaged = mean.contributors() > 0;
          if (averaged) {
            v.written();
            lastMean = average.roundDir(r);
            length = v.length();
            score = mean.score();
          }
        }
        if (averaged) {
          // Without averaged updaters every round restarts from the broadcast's Adam state, as in DL4J.
          if (!s.averageUpdaters() && initialState != null) net.getUpdater().getStateViewArray().assign(initialState);
          rounds++;
        }
        exchangeMs += (System.nanoTime() - e0) / 1_000_000;
      }
      return new Rounds(rounds, score, lastMean, length, fitMs, exchangeMs);
    }

    /** Each round's minibatches in the order this worker fits them (their keys' order). */
    private List<List<MultiDataSet>> byRound(scala.collection.Iterator<Tuple2<Long, DataSet>> rows) {
      List<List<MultiDataSet>> byRound = new ArrayList<>(splits);
      for (int r = 0; r < splits; r++) byRound.add(new ArrayList<>());
      JavaConverters.asJavaIterator(rows).forEachRemaining(
          t -> byRound.get(RoundPlan.round(t._1())).add(ComputationGraphUtil.toMultiDataSet(t._2())));
      return byRound;
    }

    /**
     * Fits a round's minibatches as DL4J's worker does: batched to the worker's batch size, and at most
     * frequency of them (a worker dealt more in a rebalanced round leaves the rest). False if there were none.
     */
    private boolean fitRound(ComputationGraph net, Iterator<MultiDataSet> round) {
      int fits = 0;
      var batches = new IteratorMultiDataSetIterator(round, s.batchSize());
      while (batches.hasNext() && fits < s.frequency()) {
        net.fit(batches.next());
        fits++;
      }
      boolean fitted = fits > 0;
      Nd4j.getExecutioner().commit();
      return fitted;
    }

    /** Parameters and (with averaged updaters) Adam state as the driver wants them: one float vector. */
    private static float[] vector(ComputationGraph net, boolean withState) {
      float[] p = net.params().toFloatVector();
      INDArray st = net.getUpdater().getStateViewArray();
      if (!withState || st == null) return p;
      float[] u = st.toFloatVector();
      float[] v = Arrays.copyOf(p, p.length + u.length);
      System.arraycopy(u, 0, v, p.length, u.length);
      return v;
    }
  }

  /**
   * The network's parameters and (when averaged) Adam state as the bytes {@link FileAverage} reads and
   * writes. On the CPU backend they are views of ND4J's own memory, so the mean lands in the network
   * without a copy; elsewhere (a GPU's memory) copies, written back by {@link #written()}.
   */
  static final class Vector {
    final ByteBuffer[] parts;
    private final INDArray[] arrays;
    /** Whether every part is a view of its array's memory. */
    final boolean views;

    Vector(ComputationGraph net, boolean withState) {
      this(withState && net.getUpdater().getStateViewArray() != null
          ? new INDArray[] {net.params(), net.getUpdater().getStateViewArray()} : new INDArray[] {net.params()},
          Nd4j.getEnvironment().isCPU());
    }

    Vector(INDArray[] arrays, boolean cpu) {
      this.arrays = arrays;
      parts = new ByteBuffer[arrays.length];
      boolean all = true;
      for (int i = 0; i < arrays.length; i++) {
        INDArray a = arrays[i];
        boolean view = cpu && a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView() && a.offset() == 0
            && a.data().length() == a.length();
        all &= view;
        parts[i] = view
            ? a.data().asNio().order(FileAverage.ORDER).position(0).limit((int) a.length() * Float.BYTES).slice().order(FileAverage.ORDER)
            : copy(a);
      }
      views = all;
    }

    private static ByteBuffer copy(INDArray a) {
      ByteBuffer b = ByteBuffer.allocate((int) a.length() * Float.BYTES).order(FileAverage.ORDER);
      b.asFloatBuffer().put(a.toFloatVector());
      return b;
    }

    /** Floats in all parts. */
    long length() {
      long n = 0;
      for (ByteBuffer p : parts) n += p.limit() / Float.BYTES;
      return n;
    }

    /** After the mean was read into {@link #parts}: copies go back into the network's arrays. */
    void written() {
      if (views) return;
      for (int i = 0; i < arrays.length; i++) {
        float[] f = new float[(int) arrays[i].length()];
        parts[i].duplicate().rewind().order(FileAverage.ORDER).asFloatBuffer().get(f);
        arrays[i].assign(Nd4j.createFromArray(f).reshape(arrays[i].shape()));
      }
    }
  }
}
