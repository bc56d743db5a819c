package org.charsight.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.apache.spark.Partitioner;
import scala.Tuple2;

/**
 * Row rank -> partition: minibatch m = rank / batch goes to partition m * partitions / minibatches,
 * so partition p holds the p-th contiguous run of whole minibatches. With a partition per worker,
 * DL4J's split of a chunk into averaging rounds (one of every {@code rounds} consecutive
 * minibatches of each partition, per round) then gives each worker the same number of minibatches
 * each round without a shuffle ({@code Repartition.Never}).
 */
final class MinibatchRanges extends Partitioner {
  private final int batch;
  private final long minibatches;
  private final int partitions;

  MinibatchRanges(int batch, long minibatches, int partitions) {
    this.batch = batch;
    this.minibatches = minibatches;
    this.partitions = partitions;
  }

  @Override
  public int numPartitions() {
    return partitions;
  }

  @Override
  public int getPartition(Object key) {
    long m = (Long) key / batch;
    return (int) Math.min(partitions - 1, m * partitions / minibatches);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MinibatchRanges r && r.batch == batch && r.minibatches == minibatches && r.partitions == partitions;
  }

  @Override
  public int hashCode() {
    return Objects.hash(batch, minibatches, partitions);
  }

  /** A partition's rows, keyed by rank and in rank order, cut into their minibatches (rank / batch). */
  static <T> List<List<T>> cut(Iterator<Tuple2<Long, T>> rows, int batch) {
    List<List<T>> out = new ArrayList<>();
    List<T> current = new ArrayList<>(batch);
    long currentBatch = -1;
    while (rows.hasNext()) {
      Tuple2<Long, T> r = rows.next();
      long b = r._1() / batch;
      if (b != currentBatch && !current.isEmpty()) {
        out.add(current);
        current = new ArrayList<>(batch);
      }
      currentBatch = b;
      current.add(r._2());
    }
    if (!current.isEmpty()) out.add(current);
    return out;
  }
}
