package org.charsight.common;

import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The race {@link ReachableOps} closes, made frequent: threads add a reshaped parameter view to a row of
 * activations (as PositionEmbedding does every step) while another thread collects garbage without pause.
 * Unwrapped, ND4J M2.1 can free the op's buffers while native code reads them, and the JVM dies in
 * {@code sd::DataBuffer::primary()}.
 *
 * <p>{@code OpRace wrapped|plain <seconds> <threads>}: exits 0 and prints the ops done if the JVM lives.
 * ReachableOpsTest runs it wrapped; {@code bench/run op-race} runs both (bench/README.md).
 */
public final class OpRace {
  private OpRace() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 3 || !(args[0].equals("wrapped") || args[0].equals("plain"))) {
      System.err.println("usage: OpRace wrapped|plain <seconds> <threads>");
      System.exit(2);
    }
    // ND4J starts here, before the collector runs without pause (it would start slowly under it).
    if (args[0].equals("wrapped")) ReachableOps.install();
    else Nd4j.getExecutioner();
    long seconds = Long.parseLong(args[1]);
    int threads = Integer.parseInt(args[2]);
    Thread gc = new Thread(() -> {
      while (true) System.gc();
    }, "op-race-gc");
    gc.setDaemon(true);
    gc.start();
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    AtomicLong ops = new AtomicLong();
    Thread[] workers = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      workers[t] = new Thread(() -> {
        int n = 64;
        INDArray flat = Nd4j.rand(DataType.FLOAT, 1, 4 * n);
        // A view at an offset, as a layer's parameter in the network's flat vector: its reshape gets a native buffer of its own.
        INDArray param = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(n, 2 * n));
        INDArray in = Nd4j.rand(DataType.FLOAT, 4, n);
        INDArray out = Nd4j.create(DataType.FLOAT, 4, n);
        while (System.nanoTime() < end) {
          out.assign(in).addiRowVector(param.reshape('c', 1, n));
          ops.incrementAndGet();
        }
      }, "op-race-" + t);
      workers[t].start();
    }
    long next = start;
    for (Thread w : workers) {
      while (w.isAlive()) {
        w.join(1000);
        if (System.nanoTime() >= next + 10_000_000_000L) {
          next = System.nanoTime();
          System.out.printf("op-race: %s, %d s: %,d ops%n", args[0], (next - start) / 1_000_000_000L, ops.get());
        }
      }
    }
    System.out.printf("op-race: %s, %d threads, %d s: %,d ops, no crash%n", args[0], threads, seconds, ops.get());
  }
}
