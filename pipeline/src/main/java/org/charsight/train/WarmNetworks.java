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
 * <p>A kept network that already holds what the chunk starts from (the last chunk's mean, which the
 * driver took as it is) does not fetch the broadcast at all: the driver sends a fingerprint of its
 * parameters and Adam state with the task, and the worker compares it with the one it took of its network
 * when it kept it. On a cluster that saves every worker a fetch of the whole vector per chunk.
 *
 * <p>A network is taken out while a task uses it, so two tasks never share one (a retried or speculative
 * task takes another kept one or builds its own). Networks of an earlier training run are dropped when its loop ends (in the
 * driver's JVM) or when a worker of the next run comes, and the kept ones hold at most a quarter of the
 * off-heap memory JavaCPP allows, the most recently used first: what workers keep must not crowd out
 * what the next stage allocates.
 */
final class WarmNetworks {
  private WarmNetworks() {}

  /** A kept network, its configuration as compared, roughly what it holds off the heap, and its fingerprint. */
  private record Kept(String run, String arm, ComputationGraph net, byte[] conf, long bytes, long fingerprint) {}

  /**
   * What a chunk starts from, as the driver holds it: the fingerprint of its parameters and Adam state,
   * its configuration as compared, and its step and epoch counts.
   */
  record Start(long fingerprint, byte[] conf, int iterations, int epochs) implements java.io.Serializable {
    static Start of(ComputationGraph net) {
      ComputationGraphConfiguration c = net.getConfiguration();
      return new Start(WarmNetworks.fingerprint(net), comparable(c), c.getIterationCount(), c.getEpochCount());
    }
  }

  /** Networks that started a chunk without fetching the broadcast, ever in this JVM (for tests). */
  static final java.util.concurrent.atomic.AtomicLong UNFETCHED = new java.util.concurrent.atomic.AtomicLong();

  /** Networks taken from the kept ones in this JVM, ever (for tests). */
  static final java.util.concurrent.atomic.AtomicLong REUSED = new java.util.concurrent.atomic.AtomicLong();

  /**
   * By the order they were kept, the least recently kept first. Not by worker: Spark may run a barrier
   * stage's task i on another executor than the last chunk's task i, and any network of the arm serves,
   * since its parameters, Adam state and counts are set (or, holding the chunk's start, already are).
   */
  private static final LinkedHashMap<Long, Kept> KEPT = new LinkedHashMap<>();
  private static long serial;

  /** A network for a worker's chunk, and whether it had to be built. */
  record Taken(ComputationGraph net, boolean built, byte[] conf) {}

  /**
   * A worker's network for a chunk of run {@code run}'s arm {@code arm}: a kept one that holds
   * {@code start} as it is (no broadcast fetched; {@code start} null: never), else a kept one set to the
   * broadcast's parameters, Adam state and counts if its configuration is the broadcast's, else built from it.
   */
  static Taken take(String run, String arm, Start start, java.util.function.Supplier<NetBroadcastTuple> sent) {
    Kept kept = null;
    synchronized (KEPT) {
      KEPT.values().removeIf(k -> !k.run().equals(run));
      Long chosen = null;
      for (Map.Entry<Long, Kept> e : KEPT.entrySet()) {
        Kept k = e.getValue();
        if (!k.arm().equals(arm)) continue;
        chosen = e.getKey(); // the most recently kept, unless one holds the chunk's start
        if (holds(k, start)) break;
      }
      if (chosen != null) kept = KEPT.remove(chosen);
    }
    if (kept != null && holds(kept, start)) {
      ComputationGraph net = kept.net();
      net.getConfiguration().setIterationCount(start.iterations());
      net.getConfiguration().setEpochCount(start.epochs());
      REUSED.incrementAndGet();
      UNFETCHED.incrementAndGet();
      return new Taken(net, false, kept.conf());
    }
    NetBroadcastTuple tuple = sent.get();
    byte[] conf = comparable(tuple.getGraphConfiguration());
    if (kept == null || !Arrays.equals(kept.conf(), conf) || kept.net().numParams() != tuple.getParameters().length()) {
      return new Taken(build(tuple), true, conf);
    }
    ComputationGraph net = kept.net();
    net.params().assign(tuple.getParameters());
    INDArray state = net.getUpdater().getStateViewArray();
    INDArray given = tuple.getUpdaterState();
    // A fresh updater starts its Adam moments at zero.
    if (state != null) {
      if (given != null) state.assign(given);
      else state.assign(0);
    }
    net.getConfiguration().setIterationCount(tuple.getGraphConfiguration().getIterationCount());
    net.getConfiguration().setEpochCount(tuple.getGraphConfiguration().getEpochCount());
    REUSED.incrementAndGet();
    return new Taken(net, false, conf);
  }

  private static boolean holds(Kept k, Start start) {
    return start != null && k.fingerprint() == start.fingerprint() && Arrays.equals(k.conf(), start.conf());
  }

  /** Gives a network back after its task is done with it. */
  static void keep(String run, String arm, Taken taken) {
    ComputationGraph net = taken.net();
    INDArray state = net.getUpdater().getStateViewArray();
    // Parameters, their gradients and the Adam moments.
    long bytes = (2 * net.numParams() + (state == null ? 0 : state.length())) * Float.BYTES;
    long budget = Pointer.maxBytes() / 4;
    long fp = fingerprint(net);
    synchronized (KEPT) {
      KEPT.values().removeIf(k -> !k.run().equals(run));
      KEPT.put(serial++, new Kept(run, arm, net, taken.conf(), bytes, fp));
      long total = KEPT.values().stream().mapToLong(Kept::bytes).sum();
      for (Iterator<Map.Entry<Long, Kept>> it = KEPT.entrySet().iterator(); total > budget && KEPT.size() > 1; ) {
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

  /**
   * A 64-bit fingerprint of the network's parameters and Adam state, their lengths and bytes: two CRCs of
   * different polynomials (both computed by the processor's own instructions, a few milliseconds for 22 MB).
   */
  static long fingerprint(ComputationGraph net) {
    INDArray state = net.getUpdater().getStateViewArray();
    INDArray[] arrays = state == null ? new INDArray[] {net.params()} : new INDArray[] {net.params(), state};
    java.util.zip.CRC32C a = new java.util.zip.CRC32C();
    java.util.zip.CRC32 b = new java.util.zip.CRC32();
    java.nio.ByteBuffer[] parts = new BarrierAveraging.Vector(arrays, org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU()).parts;
    for (int i = 0; i < parts.length; i++) {
      java.nio.ByteBuffer length = java.nio.ByteBuffer.allocate(Long.BYTES).putLong(0, arrays[i].length());
      a.update(length.duplicate());
      b.update(length);
      a.update(parts[i].duplicate());
      b.update(parts[i].duplicate());
    }
    return a.getValue() << 32 | b.getValue();
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
