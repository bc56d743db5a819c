package org.charsight.model;

import org.charsight.common.UserError;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which code computes the elementwise work that ND4J M2.1 does in scalar loops (conf {@code model.kernels}).
 * This class never touches {@code jdk.incubator.vector}, so it loads in any JVM; {@link VectorKernels} does.
 * Either way, DL4J's updater step runs as one pass wherever the vector API and ND4J's CPU backend are there
 * ({@link FlatGradientUpdater}): it gives DL4J's bits, so it is not part of this choice.
 */
public enum Kernels {
  /**
   * ND4J's ops throughout: the numbers of docs/results were made with these, and any backend (nd4j-cuda)
   * runs them.
   */
  ND4J("nd4j"),
  /**
   * The elementwise chains and attention in Java with the JDK's vector API, one pass each: the loss's
   * softmax over the logits, attention's scores, causal softmax and weighted values, GELU, LayerNorm and
   * the LSTM's gates, forward and backward. The products stay with ND4J. Values within float rounding of
   * ND4J's, so results differ in the last bits. CPU backend only: it reads ND4J's arrays in host memory.
   */
  VECTOR("vector");

  static final String MODULE = "jdk.incubator.vector";

  public final String confName;

  Kernels(String confName) {
    this.confName = confName;
  }

  public static Kernels parse(String key, String value) {
    for (Kernels k : values()) if (k.confName.equals(value)) return k;
    throw new UserError(key + ": expected nd4j or vector, got '" + value + "'");
  }

  /** Whether this JVM was started with the vector API's module. */
  public static boolean vectorApiPresent() {
    return ModuleLayer.boot().findModule(MODULE).isPresent();
  }

  /** Whether ND4J runs on its CPU backend here (nd4j-native), where {@link #VECTOR} can read its arrays. */
  public static boolean cpuBackend() {
    return Nd4j.getBackend().getClass().getSimpleName().equals("CpuBackend");
  }

  /** The key's value, refused with what to do when this JVM cannot run it. */
  static Kernels parseFor(String key, String value, boolean vectorApiPresent, boolean cpuBackend) {
    Kernels k = parse(key, value);
    if (k == VECTOR && !vectorApiPresent) throw new UserError(missingModule(key));
    if (k == VECTOR && !cpuBackend) {
      throw new UserError(key + ": vector runs on ND4J's CPU backend only; set " + key + "=nd4j for a GPU backend");
    }
    return k;
  }

  static String missingModule(String what) {
    return what + ": vector needs the JVM option --add-modules " + MODULE + " (bin/charsight adds it; spark-submit:"
        + " --driver-java-options \"--add-modules " + MODULE + "\", executors get it from the driver; or set"
        + " model.kernels=nd4j)";
  }
}
