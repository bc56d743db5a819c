package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The one-pass step's parts against the libnd4j ops they stand for, bit for bit. */
class AdamWKernelTest {
  /**
   * libnd4j's Adam op over 3,000 iterations of a 37-element array (whole vectors and a scalar tail at any width) and
   * the kernel with nothing else to do (no division, clipping or decay): the same update and moments at every
   * iteration. beta^t enters through the step size, and Java's Math.pow in place of ND4J's pow op changes it on
   * a few iterations.
   */
  @Test
  void theStepIsLibnd4jsAdamOpAtEveryIteration() {
    // At 0.95 / 0.999 and this learning rate, Math.pow's beta^t gives another step size first at iteration 57.
    double[][] betas = {{0.9, 0.95}, {0.95, 0.999}};
    double lr = 3e-4;
    for (double[] b : betas) {
      Nd4j.getRandom().setSeed(11);
      INDArray m = Nd4j.zeros(DataType.FLOAT, 37);
      INDArray v = Nd4j.zeros(DataType.FLOAT, 37);
      INDArray km = m.dup();
      INDArray kv = v.dup();
      for (int it = 0; it < 3000; it++) {
        INDArray g = Nd4j.randn(DataType.FLOAT, 37).muli(it % 7 == 0 ? 1e-4 : 3e-2);
        INDArray kg = g.dup();
        INDArray kp = Nd4j.zeros(DataType.FLOAT, 37);
        Nd4j.exec(new org.nd4j.linalg.api.ops.impl.updaters.AdamUpdater(g, v, m, lr, b[0], b[1], 1e-8, it));
        AdamWKernel.Constants k = AdamWKernel.Constants.of(1, lr, b[0], b[1], 1e-8, it);
        AdamWKernel.step(bytes(kg), bytes(kp), 0, bytes(km), bytes(kv), 0, 37, k, 1f, 0, 0f, 0f);
        String at = "betas " + b[0] + "/" + b[1] + ", iteration " + it;
        assertArrayEquals(g.toFloatVector(), kg.toFloatVector(), "update, " + at);
        assertArrayEquals(m.toFloatVector(), km.toFloatVector(), "first moment, " + at);
        assertArrayEquals(v.toFloatVector(), kv.toFloatVector(), "second moment, " + at);
      }
    }
  }

  /** One thread's norm: ND4J's norm2 of the divided gradient, whose bits set the clipping factor. */
  @Test
  void theNormIsNd4jsNorm2OfTheDividedGradient() {
    assertEquals(1, Nd4j.getEnvironment().maxThreads(), "the tests' JVM runs ND4J on one thread (pom.xml)");
    Nd4j.getRandom().setSeed(3);
    for (int n : new int[] {1, 37, 1023, 5000, 70_001}) {
      INDArray g = Nd4j.randn(DataType.FLOAT, n).muli(0.37);
      float expected = g.div(3).norm2Number().floatValue();
      assertEquals(expected, AdamWKernel.norm(bytes(g), 0, n, 3f, 1), "n = " + n);
    }
  }

  private static ByteBuffer bytes(INDArray a) {
    return Layouts.bytes(a);
  }
}
