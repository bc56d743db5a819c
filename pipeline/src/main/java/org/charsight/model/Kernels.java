package org.charsight.model;

import org.charsight.common.UserError;

/**
 * Which code computes the elementwise work that ND4J M2.1 does in scalar loops (conf {@code model.kernels}).
 * This class never touches {@code jdk.incubator.vector}, so it loads in any JVM; {@link VectorKernels} does.
 */
public enum Kernels {
  /** ND4J's ops throughout: the numbers every published run of charsight was made with. */
  ND4J("nd4j"),
  /**
   * The elementwise chains in Java with the JDK's vector API, one pass each: the loss's softmax over the
   * logits, attention's masked softmax, GELU, LayerNorm and the LSTM's gates, forward and backward. The
   * products stay with ND4J. Values within float rounding of ND4J's, so results differ in the last bits.
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

  /** The key's value, refused with what to do when this JVM cannot run it. */
  static Kernels parseFor(String key, String value, boolean vectorApiPresent) {
    Kernels k = parse(key, value);
    if (k == VECTOR && !vectorApiPresent) throw new UserError(missingModule(key));
    return k;
  }

  static String missingModule(String what) {
    return what + ": vector needs the JVM option --add-modules " + MODULE + " (bin/charsight: CHARSIGHT_JAVA_OPTS=\"--add-modules "
        + MODULE + "\"; spark-submit: --driver-java-options; executors get it from the driver)";
  }
}
