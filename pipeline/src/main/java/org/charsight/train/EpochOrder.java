package org.charsight.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.charsight.common.StableHash;
import org.charsight.model.Batch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;
import scala.runtime.AbstractFunction1;

/**
 * The training windows of one epoch in a seeded random order, cut into minibatches on the
 * executors. The driver never sees the windows: it asks for the minibatches of a range of
 * averaging rounds, and every arm is given the very same RDD (a paired design).
 *
 * <p>Each partition of the ranked windows holds a contiguous run of ranks (zipWithIndex numbers them
 * partition by partition), and the driver knows every partition's run: a chunk's minibatches are read
 * from the partitions its ranks fall in, not by filtering the whole epoch, which would cost every
 * chunk a task per partition and a pass over the epoch.
 */
final class EpochOrder {
  private final JavaPairRDD<Long, int[]> ranked;
  /** Partition p holds ranks [firstRank[p], firstRank[p + 1]); the last entry is the epoch's windows. */
  private final long[] firstRank;

  private EpochOrder(JavaPairRDD<Long, int[]> ranked, long[] firstRank) {
    this.ranked = ranked;
    this.firstRank = firstRank;
  }

  static EpochOrder of(SparkSession spark, String trainDir, long seed, int epoch) {
    long salt = StableHash.mix(seed * 1_000_003L + epoch);
    JavaRDD<Row> rows = spark.read().parquet(trainDir).select("window", "tokens").javaRDD();
    JavaPairRDD<Long, int[]> ranked = rows
        .mapToPair(r -> new Tuple2<>(StableHash.mix(salt ^ r.getLong(0)), toInts(r.getList(1))))
        .sortByKey()
        .zipWithIndex()
        .mapToPair(t -> new Tuple2<>(t._2(), t._1()._2()))
        .persist(StorageLevel.MEMORY_AND_DISK());
    // One job, as counting the windows was: every partition's size, in partition order.
    List<Long> sizes = ranked.mapPartitions(part -> {
      long n = 0;
      for (; part.hasNext(); part.next()) n++;
      return List.of(n).iterator();
    }).collect();
    long[] firstRank = new long[sizes.size() + 1];
    for (int p = 0; p < sizes.size(); p++) firstRank[p + 1] = firstRank[p] + sizes.get(p);
    return new EpochOrder(ranked, firstRank);
  }

  private static int[] toInts(List<Integer> l) {
    int[] a = new int[l.size()];
    for (int i = 0; i < a.length; i++) a[i] = l.get(i);
    return a;
  }

  long windows() {
    return firstRank[firstRank.length - 1];
  }

  /** The partitions of the ranked windows that hold a rank in [from, to). */
  List<Integer> partitionsHolding(long from, long to) {
    List<Integer> holding = new ArrayList<>();
    for (int p = 0; p + 1 < firstRank.length; p++) {
      if (firstRank[p] < to && firstRank[p + 1] > from) holding.add(p);
    }
    return holding;
  }

  /**
   * Minibatches of windows [from, to) of this epoch's order, batch-sized, in order; partition p holds
   * the p-th contiguous run of them ({@link MinibatchRanges}: computed bounds, not sampled ones).
   */
  JavaRDD<DataSet> batches(long from, long to, int batchSize, int seqLen, int partitions) {
    return batches(windows(from, to, 0), to - from, batchSize, seqLen, partitions);
  }

  /** Windows [from, to) of this epoch's order, each keyed by its place in a chunk that holds them from {@code at}. */
  JavaPairRDD<Long, int[]> windows(long from, long to, long at) {
    Set<Integer> holding = Set.copyOf(partitionsHolding(from, to));
    JavaPairRDD<Long, int[]> read = JavaPairRDD.fromRDD(PartitionPruningRDD.create(ranked.rdd(), new Holding(holding)),
        ranked.kClassTag(), ranked.vClassTag());
    long shift = at - from;
    return read.filter(t -> t._1() >= from && t._1() < to).mapToPair(t -> new Tuple2<>(t._1() + shift, t._2()));
  }

  /**
   * Minibatches of {@code windows} keyed 0 to {@code count} - 1 (one epoch's, or the end of one and the start of
   * the next), batch-sized, in key order; partition p holds the p-th contiguous run of them.
   */
  static JavaRDD<DataSet> batches(JavaPairRDD<Long, int[]> windows, long count, int batchSize, int seqLen, int partitions) {
    return windows.repartitionAndSortWithinPartitions(new MinibatchRanges(batchSize, minibatches(count, batchSize), partitions))
        .mapPartitions(rows -> MinibatchRanges.cut(rows, batchSize).stream()
            .map(b -> Batch.of(b.toArray(new int[0][]), seqLen, DataType.FLOAT)).iterator());
  }

  /** How many minibatches {@link #batches} cuts this many windows into. */
  static long minibatches(long windows, int batchSize) {
    return Math.max(1, (windows + batchSize - 1) / batchSize);
  }

  /** Spark's partition filter: a Scala function, serializable as the RDD that holds it. */
  private static final class Holding extends AbstractFunction1<Object, Object> implements Serializable {
    private final Set<Integer> partitions;

    Holding(Set<Integer> partitions) {
      this.partitions = partitions;
    }

    @Override
    public Object apply(Object partition) {
      return partitions.contains((Integer) partition);
    }
  }

  void release() {
    ranked.unpersist(false);
  }
}
