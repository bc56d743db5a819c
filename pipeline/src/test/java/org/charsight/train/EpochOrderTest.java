package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/** How a chunk of pretraining rounds is laid out for DL4J's workers. */
class EpochOrderTest {

  @Test
  void aChunksMinibatchesAreOneEqualContiguousRunPerWorkerInTheEpochsOrder(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = TrainingFixtures.shards(spark, dir);
    EpochOrder order = EpochOrder.of(spark, shards.resolve("train").toString(), 7, 0);
    int batch = 2;
    long from = 3;
    // As many whole minibatches as the fixture has, an even number: 2 workers x rounds x frequency. Spark's
    // range partitioner would cut them where a sample says, rarely at exactly half.
    long minibatches = (order.windows() - from) / batch / 2 * 2;
    long to = from + minibatches * batch;
    assertTrue(minibatches >= 100, "the fixture has " + order.windows() + " windows");
    List<DataSet> inOrder = order.batches(from, to, batch, 32, 1).collect();
    List<List<DataSet>> parts = order.batches(from, to, batch, 32, 2).glom().collect();
    assertEquals(minibatches, inOrder.size());
    assertEquals(2, parts.size());
    assertEquals(minibatches / 2, parts.get(0).size(), "half the minibatches on each worker");
    assertEquals(minibatches / 2, parts.get(1).size(), "half the minibatches on each worker");
    List<DataSet> flat = new ArrayList<>(parts.get(0));
    flat.addAll(parts.get(1));
    for (int i = 0; i < minibatches; i++) {
      assertEquals(inOrder.get(i).getFeatures(), flat.get(i).getFeatures(), "minibatch " + i + " in the epoch's order");
      assertEquals(batch, flat.get(i).getFeatures().size(0));
    }
    order.release();
  }

  @Test
  void aChunkReadsOnlyThePartitionsItsRanksFallInAndStillGetsEveryWindow(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = TrainingFixtures.shards(spark, dir);
    EpochOrder order = EpochOrder.of(spark, shards.resolve("train").toString(), 7, 0);
    long windows = order.windows();
    // Minibatches of one window: the epoch's order window by window.
    List<DataSet> all = order.batches(0, windows, 1, 32, 1).collect();
    assertEquals(windows, all.size());
    long boundary = 0;
    while (boundary < windows && order.partitionsHolding(boundary, boundary + 1).equals(List.of(0))) boundary++;
    assertTrue(boundary > 5 && boundary < windows - 5, "the epoch's ranks span at least two partitions, first boundary at "
        + boundary + " of " + windows);
    assertEquals(List.of(0), order.partitionsHolding(boundary - 5, boundary), "ranks before the boundary: partition 0 only");
    assertEquals(List.of(0, 1), order.partitionsHolding(boundary - 5, boundary + 5));
    for (long[] range : new long[][] {{boundary - 5, boundary}, {boundary - 5, boundary + 5}, {boundary, windows}}) {
      List<DataSet> part = order.batches(range[0], range[1], 1, 32, 1).collect();
      assertEquals(range[1] - range[0], part.size(), "windows " + range[0] + "-" + range[1]);
      for (int i = 0; i < part.size(); i++) {
        assertEquals(all.get((int) range[0] + i).getFeatures(), part.get(i).getFeatures(), "window " + (range[0] + i));
      }
    }
    order.release();
  }
}
