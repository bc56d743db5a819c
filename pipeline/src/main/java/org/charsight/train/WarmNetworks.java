package org.charsight.train;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.charsight.model.FlatGradientUpdater;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Barrier workers' networks, kept on their executor from one chunk to the next.
 *
 * <p>A network built in a JVM runs its first step several times slower than the next ones for the first
 * few dozen builds (90-160 ms against ~17 ms for the small model, its vector kernels running their Java
 * fallback on a new network's first calls; docs/findings.md), and a worker built one per chunk. A kept network takes the
 * chunk's parameters, Adam state and counts from the broadcast, as a new one would, so what it trains is
 * the same bit for bit; it is kept only for a configuration equal to the broadcast's in every serialised
 * field but the step and epoch counts (a fine-tuning phase changes the learning-rate schedule, for one).
 *
 * <p>A network is taken out while a task uses it, so two tasks never share one (a retried or speculative
 * task builds its own). Networks of an earlier training run are dropped when its loop ends (in the
 * driver's JVM) or when a worker of the next run comes, and the kept ones hold at most a quarter of the
 * off-heap memory JavaCPP allows, the most recently used first: what workers keep must not crowd out
 * what the next stage allocates.
 */
final class WarmNetworks {
  private WarmNetworks() {}

  /** A kept network, its configuration as compared, and roughly what it holds off the heap. */
  private record Kept(String run, ComputationGraph net, byte[] conf, long bytes) {}

  /** Networks taken from the kept ones in this JVM, ever (for tests). */
  static final java.util.concurrent.atomic.AtomicLong REUSED = new java.util.concurrent.atomic.AtomicLong();

  /** By run, arm and worker; in access order, the least recently used first. */
  private static final LinkedHashMap<String, Kept> KEPT = new LinkedHashMap<>(16, 0.75f, true);

  /** A network for a worker's chunk, and whether it had to be built. */
  record Taken(ComputationGraph net, boolean built, byte[] conf) {}

  /**
   * Worker {@code worker}'s network for a chunk of run {@code run}'s arm {@code arm}: a kept one set to the
   * broadcast's parameters, Adam state and counts if its configuration is the broadcast's, else built from it.
   */
  static Taken take(String run, String arm, int worker, NetBroadcastTuple tuple) {
    byte[] conf = comparable(tuple.getGraphConfiguration());
    Kept kept;
    synchronized (KEPT) {
      KEPT.values().removeIf(k -> !k.run().equals(run));
      kept = KEPT.remove(key(run, arm, worker));
    }
    if (kept == null || !Arrays.equals(kept.conf(), conf) || kept.net().numParams() != tuple.getParameters().length()) {
      return new Taken(build(tuple), true, conf);
    }
    ComputationGraph net = kept.net();
    net.params().assign(tuple.getParameters());
    INDArray state = net.getUpdater().getStateViewArray();
    INDArray sent = tuple.getUpdaterState();
    // A fresh updater starts its Adam moments at zero.
    if (state != null) {
      if (sent != null) state.assign(sent);
      else state.assign(0);
    }
    net.getConfiguration().setIterationCount(tuple.getGraphConfiguration().getIterationCount());
    net.getConfiguration().setEpochCount(tuple.getGraphConfiguration().getEpochCount());
    REUSED.incrementAndGet();
    return new Taken(net, false, conf);
  }

  /** Gives a network back after its task is done with it. */
  static void keep(String run, String arm, int worker, Taken taken) {
    ComputationGraph net = taken.net();
    INDArray state = net.getUpdater().getStateViewArray();
    // Parameters, their gradients and the Adam moments.
    long bytes = (2 * net.numParams() + (state == null ? 0 : state.length())) * Float.BYTES;
    long budget = Pointer.maxBytes() / 4;
    synchronized (KEPT) {
      KEPT.values().removeIf(k -> !k.run().equals(run));
      KEPT.put(key(run, arm, worker), new Kept(run, net, taken.conf(), bytes));
      long total = KEPT.values().stream().mapToLong(Kept::bytes).sum();
      for (Iterator<Map.Entry<String, Kept>> it = KEPT.entrySet().iterator(); total > budget && KEPT.size() > 1; ) {
        total -= it.next().getValue().bytes();
        it.remove();
      }
    }
  }

  /** Drops the networks kept for {@code run}: its training loop has ended. */
  static void drop(String run) {
    synchronized (KEPT) {
      KEPT.values().removeIf(k -> k.run().equals(run));
    }
  }

  private static String key(String run, String arm, int worker) {
    return run + '\n' + arm + '\n' + worker;
  }

  /** As DL4J's worker builds it: a copy of the configuration, parameters and Adam state. */
  static ComputationGraph build(NetBroadcastTuple tuple) {
    ComputationGraph net = new ComputationGraph(tuple.getGraphConfiguration().clone());
    net.init(tuple.getParameters().dup(), false);
    INDArray initialState = tuple.getUpdaterState();
    // DL4J's worker sets a ComputationGraphUpdater; this one does the same arithmetic (its class comment).
    FlatGradientUpdater.install(net, initialState == null ? null : initialState.dup());
    net.getConfiguration().setEpochCount(tuple.getGraphConfiguration().getEpochCount());
    return net;
  }

  /** The configuration's serialised form without the counts that move every chunk. */
  private static byte[] comparable(ComputationGraphConfiguration conf) {
    ComputationGraphConfiguration c = conf.clone();
    c.setIterationCount(0);
    c.setEpochCount(0);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    } catch (IOException e) {
      throw new UncheckedIOException("barrier averaging: cannot serialise the network's configuration", e);
    }
    return bytes.toByteArray();
  }
}
