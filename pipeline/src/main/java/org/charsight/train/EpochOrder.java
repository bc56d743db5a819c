package org.charsight.train;

import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.charsight.common.StableHash;
import org.charsight.model.Batch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

/**
 * The training windows of one epoch in a seeded random order, cut into minibatches on the
 * executors. The driver never sees the windows: it asks for the minibatches of a range of
 * averaging rounds, and every arm is given the very same RDD (a paired design).
 */
final class EpochOrder {
  private final JavaPairRDD<Long, int[]> ranked;
  private final long windows;

  private EpochOrder(JavaPairRDD<Long, int[]> ranked, long windows) {
    this.ranked = ranked;
    this.windows = windows;
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
    return new EpochOrder(ranked, ranked.count());
  }

  private static int[] toInts(List<Integer> l) {
    int[] a = new int[l.size()];
    for (int i = 0; i < a.length; i++) a[i] = l.get(i);
    return a;
  }

  long windows() {
    return windows;
  }

  /**
   * Minibatches of windows [from, to) of this epoch's order, batch-sized, in order; partition p holds
   * the p-th contiguous run of them ({@link MinibatchRanges}: computed bounds, not sampled ones).
   */
  JavaRDD<DataSet> batches(long from, long to, int batchSize, int seqLen, int partitions) {
    long minibatches = minibatches(to - from, batchSize);
    return ranked.filter(t -> t._1() >= from && t._1() < to)
        .mapToPair(t -> new Tuple2<>(t._1() - from, t._2()))
        .repartitionAndSortWithinPartitions(new MinibatchRanges(batchSize, minibatches, partitions))
        .mapPartitions(rows -> MinibatchRanges.cut(rows, batchSize).stream()
            .map(b -> Batch.of(b.toArray(new int[0][]), seqLen, DataType.FLOAT)).iterator());
  }

  /** How many minibatches {@link #batches} cuts this many windows into. */
  static long minibatches(long windows, int batchSize) {
    return Math.max(1, (windows + batchSize - 1) / batchSize);
  }

  void release() {
    ranked.unpersist(false);
  }
}
