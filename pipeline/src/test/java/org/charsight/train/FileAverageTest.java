package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The file exchange on its own: three tasks (threads) average vectors held in ND4J arrays, through
 * local files and through Hadoop's FileSystem, with the arrays' own memory and with copies.
 */
class FileAverageTest {
  /** A task context that is never killed: waiting tasks ask it. */
  private static TaskContext notKilled() {
    return org.apache.spark.TaskContext$.MODULE$.empty();
  }

  private static float[][] average(Path dir, boolean hadoopStore, boolean views, float[][] params, float[][] state,
      boolean[] contributes) throws Exception {
    int tasks = params.length;
    ExecutorService pool = Executors.newFixedThreadPool(tasks);
    try {
      List<Future<float[]>> out = new ArrayList<>();
      for (int t = 0; t < tasks; t++) {
        int me = t;
        out.add(pool.submit(() -> {
          INDArray p = Nd4j.createFromArray(params[me]).reshape(1, params[me].length).dup();
          INDArray s = Nd4j.createFromArray(state[me]).reshape(1, state[me].length).dup();
          var v = new BarrierAveraging.Vector(new INDArray[] {p, s}, views);
          assertEquals(views, v.views, "the arrays' own memory on the CPU backend, else copies");
          org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(dir.toUri());
          FileAverage.Store store = hadoopStore
              ? new FileAverage.Hadoop(d.getFileSystem(new Configuration())) : FileAverage.Store.open(d, new Configuration());
          for (int round = 0; round < 3; round++) {
            FileAverage a = new FileAverage(store, d, me, tasks);
            long t0 = System.nanoTime();
            FileAverage.Mean m = a.average(notKilled(), round, v.parts, contributes[me], me);
            long took = System.nanoTime() - t0;
            v.written();
            assertEquals(contributes.length - countFalse(contributes), m.contributors());
            double meanOfContributors = 0;
            for (int k = 0; k < tasks; k++) meanOfContributors += contributes[k] ? k : 0;
            assertEquals(meanOfContributors / m.contributors(), m.score(), 0.0, "the contributors' mean loss (task k's is k)");
            // Every part of a round with contributors is timed, apart from the waits and within the call.
            for (FileAverage.Part part : FileAverage.Part.values()) {
              assertTrue(a.partNanos[part.ordinal()] > 0, part + " timed in round " + round);
            }
            assertTrue(java.util.Arrays.stream(a.partNanos).sum() + a.waitedNanos <= took, "parts and waits within the call");
          }
          float[] all = new float[params[me].length + state[me].length];
          System.arraycopy(p.toFloatVector(), 0, all, 0, params[me].length);
          System.arraycopy(s.toFloatVector(), 0, all, params[me].length, state[me].length);
          return all;
        }));
      }
      float[][] r = new float[tasks][];
      for (int t = 0; t < tasks; t++) r[t] = out.get(t).get();
      return r;
    } finally {
      pool.shutdownNow();
    }
  }

  private static int countFalse(boolean[] b) {
    int n = 0;
    for (boolean x : b) n += x ? 0 : 1;
    return n;
  }

  @Test
  void everyTaskEndsWithTheMeanOfTheContributorsWhateverTheStoreAndMemory(@TempDir Path dir) throws Exception {
    float[][] params = {{1, 2, 3, 4, 5}, {3, 4, 5, 6, 7}, {100, 100, 100, 100, 100}};
    float[][] state = {{0.5f, -1}, {1.5f, 3}, {9, 9}};
    // The third task had no minibatches this round: DL4J leaves it out of the mean.
    boolean[] contributes = {true, true, false};
    float[] mean = {2, 3, 4, 5, 6, 1, 1};
    int i = 0;
    for (boolean hadoop : new boolean[] {false, true}) {
      for (boolean views : new boolean[] {true, false}) {
        float[][] r = average(dir.resolve("case-" + i++), hadoop, views, params, state, contributes);
        for (float[] task : r) assertArrayEquals(mean, task, "hadoop store " + hadoop + ", views " + views);
      }
    }
  }

  /**
   * Slices longer than the chunk the sum reads at a time, ending mid-chunk: the mean is the contributors'
   * sum in task order divided by their count, bit for bit, with either store.
   */
  @Test
  void slicesSpanningManyChunksAverageToTheBit(@TempDir Path dir) throws Exception {
    java.util.Random random = new java.util.Random(11);
    int tasks = 3, n = 150_001, m = 50_002;
    float[][] params = new float[tasks][n], state = new float[tasks][m];
    for (int t = 0; t < tasks; t++) {
      for (int i = 0; i < n; i++) params[t][i] = (float) random.nextGaussian();
      for (int i = 0; i < m; i++) state[t][i] = (float) random.nextGaussian() * 1e-3f;
    }
    float[] mean = new float[n + m];
    for (int i = 0; i < n + m; i++) {
      float sum = i < n ? params[0][i] : state[0][i - n];
      for (int t = 1; t < tasks; t++) sum += i < n ? params[t][i] : state[t][i - n];
      mean[i] = sum / tasks;
    }
    boolean[] all = {true, true, true};
    for (boolean hadoop : new boolean[] {false, true}) {
      float[][] r = average(dir.resolve("hadoop-" + hadoop), hadoop, true, params, state, all);
      for (float[] task : r) assertArrayEquals(mean, task, "hadoop store " + hadoop);
    }
  }

  /**
   * Many rounds with new vectors each: every round's mean is that round's, although local files are written
   * into those of two rounds back; a round's files are gone two rounds later, and what is left is the last two
   * rounds' files and, on the local store, one spare of each kind per task.
   */
  @Test
  void everyRoundAveragesItsOwnVectorsWhileFilesAreReused(@TempDir Path dir) throws Exception {
    int tasks = 2, rounds = 7, n = 40_003;
    for (boolean hadoop : new boolean[] {false, true}) {
      Path here = dir.resolve("hadoop-" + hadoop);
      org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(here.toUri());
      ExecutorService pool = Executors.newFixedThreadPool(tasks);
      try {
        List<Future<Void>> done = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
          int me = t;
          done.add(pool.submit(() -> {
            INDArray p = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, n);
            var v = new BarrierAveraging.Vector(new INDArray[] {p}, true);
            FileAverage.Store store = hadoop
                ? new FileAverage.Hadoop(d.getFileSystem(new Configuration())) : FileAverage.Store.open(d, new Configuration());
            FileAverage a = new FileAverage(store, d, me, tasks);
            for (int round = 0; round < rounds; round++) {
              // Task t holds (t + 1) x (round + 1) x (i mod 97): the mean is 1.5 x (round + 1) x (i mod 97).
              float[] mine = new float[n], mean = new float[n];
              for (int i = 0; i < n; i++) {
                mine[i] = (me + 1) * (round + 1) * (i % 97);
                mean[i] = 1.5f * (round + 1) * (i % 97);
              }
              p.assign(Nd4j.createFromArray(mine).reshape(1, n));
              assertEquals(tasks, a.average(notKilled(), round, v.parts, true, 0).contributors());
              v.written();
              assertArrayEquals(mean, p.toFloatVector(), "task " + me + ", round " + round + ", hadoop store " + hadoop);
            }
            return null;
          }));
        }
        for (Future<Void> f : done) f.get();
      } finally {
        pool.shutdownNow();
      }
      for (int round = 0; round < rounds; round++) {
        for (String kind : new String[] {"full-", "mean-"}) {
          for (int t = 0; t < tasks; t++) {
            boolean kept = round >= rounds - 2;
            assertEquals(kept, java.nio.file.Files.exists(here.resolve("round-" + round).resolve(kind + t)),
                kind + t + " of round " + round + ", hadoop store " + hadoop);
            assertEquals(!hadoop, java.nio.file.Files.exists(here.resolve(".spare-" + kind + t)), "spare " + kind + t);
          }
        }
      }
    }
  }

  /** Two executors each writing to a disk of their own: the first hello that never comes says so, quickly. */
  @Test
  void tasksThatDoNotShareTheDirectoryStopWithTheReason(@TempDir Path dir) {
    org.apache.hadoop.fs.Path a = new org.apache.hadoop.fs.Path(dir.resolve("executor-a").toUri());
    org.apache.hadoop.fs.Path b = new org.apache.hadoop.fs.Path(dir.resolve("executor-b").toUri());
    FileAverage.Store store = FileAverage.Store.open(a, new Configuration());
    // Task 1 says hello where task 0 does not look.
    assertThrows(IllegalStateException.class, () -> new FileAverage(store, b, 1, 2).hello(notKilled(), 200_000_000L));
    long t0 = System.nanoTime();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> new FileAverage(store, a, 0, 2).hello(notKilled(), 500_000_000L));
    assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "gives up after its limit");
    assertTrue(e.getMessage().contains("the executors do not share " + a) && e.getMessage().contains("pretrain.averaging = dl4j"),
        e.getMessage());
  }

  @Test
  void aVectorOfArraysIsTheirBytesOneAfterAnother() {
    INDArray a = Nd4j.createFromArray(new float[] {1, 2, 3}).reshape(1, 3);
    INDArray b = Nd4j.createFromArray(new float[] {4, 5}).reshape(1, 2);
    for (boolean views : new boolean[] {true, false}) {
      var v = new BarrierAveraging.Vector(new INDArray[] {a.dup(), b.dup()}, views);
      assertEquals(views, v.views);
      assertEquals(12, v.parts[0].limit());
      assertEquals(8, v.parts[1].limit());
      ByteBuffer p = v.parts[1].duplicate().order(FileAverage.ORDER);
      assertEquals(5f, p.getFloat(4));
    }
  }
}
