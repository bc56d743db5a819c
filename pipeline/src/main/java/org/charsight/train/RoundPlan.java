package org.charsight.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.Partitioner;
import org.deeplearning4j.spark.impl.common.SplitPartitionsFunction;
import org.deeplearning4j.spark.impl.common.repartition.BalancedPartitioner;

/**
 * Which worker fits each minibatch of a chunk, in which averaging round and in what order: the choice
 * DL4J's ParameterAveragingTrainingMaster makes, worked out ahead so that {@link BarrierAveraging} can
 * train a whole chunk in one Spark job and still give DL4J's models bit for bit.
 *
 * <p>DL4J cuts a chunk of {@code total} minibatches into {@code total / (frequency x workers)} rounds
 * ({@link SplitPartitionsFunction}: within each partition, every run of {@code splits} consecutive
 * minibatches is dealt one to each round in a seeded random order). With {@code Repartition.Never}
 * each partition's share of a round is its worker's. With {@code Repartition.Always} (and DL4J's default
 * Balanced strategy) a round whose partitions do not all hold exactly {@code frequency} minibatches is
 * spread again: numbered in partition order and dealt out by DL4J's {@link BalancedPartitioner}, each
 * worker then fitting its minibatches in that numbering's order (Spark reads a shuffle's map outputs in
 * map order on one executor; across executors DL4J's own order is whichever output arrives first).
 * Fine-tuning samples its rows, so its partitions seldom split evenly, and it uses {@code Always}.
 *
 * <p>A minibatch's place is one long: worker, round and order within the round ({@link #key}).
 */
final class RoundPlan {
  private static final int ROUND_BITS = 20;
  private static final int ORDER_BITS = 20;
  private static final long ORDER_MASK = (1L << ORDER_BITS) - 1;
  private static final long ROUND_MASK = (1L << ROUND_BITS) - 1;

  private RoundPlan() {}

  /** The rounds DL4J's master cuts {@code total} minibatches into (rounded down; at least one). */
  static int splits(long total, int frequency, int workers) {
    long perSplit = (long) frequency * workers;
    return total <= perSplit ? 1 : Math.toIntExact(total / perSplit);
  }

  /** The round each of a partition's {@code size} minibatches falls in: DL4J's own split, run on their positions. */
  static int[] rounds(int partition, int size, int splits, long splitSeed) {
    int[] round = new int[size];
    if (splits == 1) return round;
    for (int r = 0; r < splits; r++) {
      Iterator<Integer> chosen = call(new SplitPartitionsFunction<>(r, splits, splitSeed), partition, size);
      while (chosen.hasNext()) round[chosen.next()] = r;
    }
    return round;
  }

  /**
   * Where a chunk's minibatches go: {@code keys[p][i]} for the i-th minibatch of partition p, and how many
   * of them went to a worker drawn with the seed, where DL4J draws one unseeded (see {@link #rebalanced}).
   */
  record Dealt(long[][] keys, int drawn) {}

  /**
   * Every minibatch's {@link #key} under {@code Repartition.Always}, for partitions of {@code sizes[p]}
   * minibatches, {@code perWorker} (= frequency) minibatches being a worker's share.
   */
  static Dealt rebalanced(int[] sizes, int splits, long splitSeed, int workers, int perWorker) {
    int[][] round = new int[sizes.length][];
    for (int p = 0; p < sizes.length; p++) round[p] = rounds(p, sizes[p], splits, splitSeed);
    long[][] keys = new long[sizes.length][];
    for (int p = 0; p < sizes.length; p++) keys[p] = new long[sizes[p]];
    int drawn = 0;
    for (int r = 0; r < splits; r++) {
      int[] counts = new int[sizes.length];
      for (int p = 0; p < sizes.length; p++) {
        for (int x : round[p]) counts[p] += x == r ? 1 : 0;
      }
      int total = IntStream.of(counts).sum();
      // SparkUtils.repartitionBalanceIfRequired leaves a round alone when it already is one partition per
      // worker of exactly perWorker minibatches.
      boolean asIs = sizes.length == workers && IntStream.of(counts).allMatch(c -> c == perWorker);
      int remainder = (total - workers * perWorker) % workers;
      Random spare = new Random(splitSeed + r);
      int index = 0;
      for (int p = 0; p < sizes.length; p++) {
        int order = 0;
        for (int i = 0; i < sizes[p]; i++) {
          if (round[p][i] != r) continue;
          int to = asIs ? p : balanced(index, workers, perWorker, remainder);
          // Past workers x perWorker + remainder minibatches (6 + 6 for two workers of 5) DL4J's partitioner
          // picks an unseeded random worker. Such a minibatch is not fitted: it comes after a full share wherever
          // it lands, and a worker fits at most perWorker a round (only a short last minibatch of the chunk, topped
          // up from the next, could reach into it). A seeded pick keeps the plan definite.
          if (to < 0) {
            to = spare.nextInt(workers);
            drawn++;
          }
          keys[p][i] = key(to, r, asIs ? order++ : index);
          index++;
        }
      }
    }
    return new Dealt(keys, drawn);
  }

  /**
   * DL4J's {@link BalancedPartitioner#getPartition} for the element numbered {@code index}, or -1 where it
   * draws a worker at random: the first {@code remainder} workers take perWorker + 1 elements, the rest
   * perWorker (remainder may be negative, as DL4J computes it).
   */
  static int balanced(int index, int workers, int perWorker, int remainder) {
    int to = index <= (perWorker + 1) * remainder ? index / (perWorker + 1)
        : (index - remainder * (perWorker + 1)) / perWorker + remainder;
    return to >= 0 && to < workers ? to : -1;
  }

  /** Worker, then round, then order: sorting a worker's keys puts its minibatches in the order it fits them. */
  static long key(int worker, int round, int order) {
    if (round > ROUND_MASK || order > ORDER_MASK) {
      throw new IllegalArgumentException("parameter averaging: round " + round + " or position " + order + " out of range");
    }
    return ((long) worker << (ROUND_BITS + ORDER_BITS)) | ((long) round << ORDER_BITS) | order;
  }

  static int worker(long key) {
    return (int) (key >>> (ROUND_BITS + ORDER_BITS));
  }

  static int round(long key) {
    return (int) ((key >>> ORDER_BITS) & ROUND_MASK);
  }

  /** Sends a key to its worker's partition. */
  static final class ByWorker extends Partitioner {
    private final int workers;

    ByWorker(int workers) {
      this.workers = workers;
    }

    @Override
    public int numPartitions() {
      return workers;
    }

    @Override
    public int getPartition(Object key) {
      return worker((Long) key);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ByWorker b && b.workers == workers;
    }

    @Override
    public int hashCode() {
      return workers;
    }
  }

  private static Iterator<Integer> call(SplitPartitionsFunction<Integer> split, int partition, int size) {
    List<Integer> positions = new ArrayList<>(size);
    for (int i = 0; i < size; i++) positions.add(i);
    try {
      return split.call(partition, positions.iterator());
    } catch (Exception e) { // declared by Spark's Function2; DL4J's split throws nothing
      throw new IllegalStateException("parameter averaging: splitting partition " + partition, e);
    }
  }
}
