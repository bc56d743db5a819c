package org.charsight.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * DL4J's AdamW step (divide by the minibatch, clip, Adam, weight decay, subtract) in one pass over a
 * parameter's gradient, Adam moments and values, for {@link FlatGradientUpdater}. DL4J makes four to six
 * passes over the same memory, each one of libnd4j's ops: this reads each array once and writes each once.
 *
 * <p>The arithmetic is libnd4j's, operation for operation (docs/findings.md, 2026-12-04): the library this
 * project runs (nd4j-native's onednn classifier) is compiled for SSE2 without fused multiply-adds, so each
 * multiply and add rounds on its own, as Java's do, and every operation here is one IEEE 754 rounds exactly
 * (vector lanes and the scalar tail alike). So the results are DL4J's bits, not merely close to them.
 * Only load this class after {@link Kernels#vectorApiPresent()}.
 */
final class AdamWKernel {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

  private AdamWKernel() {}

  /**
   * The L2 norm of {@code g[at .. at+n) / divisor} as libnd4j's norm2 sums it: in float, in
   * {@code min(max(1, n / 1024), min(64, threads))} equal chunks (the last takes the rest), each summed in
   * order, the chunks' sums added in order. A float sum's bits depend on that order, and the clipping
   * threshold compares against this number.
   */
  static float norm(ByteBuffer g, int at, int n, float divisor, int threads) {
    int chunks = Math.min(Math.max(1, n >>> 10), Math.min(64, threads));
    int span = n / chunks;
    float total = 0f;
    for (int c = 0; c < chunks; c++) {
      int from = at + c * span;
      int to = c == chunks - 1 ? at + n : from + span;
      float acc = 0f;
      for (int i = from; i < to; i++) {
        float x = g.getFloat(i * Float.BYTES) / divisor;
        acc = x * x + acc;
      }
      total = c == 0 ? acc : acc + total;
    }
    // sqrt of a float taken in double and rounded back is sqrtf's correctly rounded result.
    return (float) Math.sqrt(total);
  }

  /**
   * One step over elements {@code [at, at+n)} of the gradient and parameters and {@code [state, state+n)} of
   * the moments: g' = g / divisor * scale, m = b1 m + g' (1 - b1), v = b2 v + g' g' (1 - b2), u = m stepSize /
   * (sqrt v + eps), u = decay_k p + u for each decay entry, p = p - u; u is left in the gradient as DL4J
   * leaves it. Up to two decay entries ({@code decays}): DL4J gives the token embedding two (GptBuilder).
   */
  static void step(ByteBuffer g, ByteBuffer p, int at, ByteBuffer m, ByteBuffer v, int state, int n, Constants k,
      float scale, int decays, float decay0, float decay1) {
    int i = 0;
    for (int upper = S.loopBound(n); i < upper; i += L) {
      int gi = (at + i) * Float.BYTES;
      int si = (state + i) * Float.BYTES;
      FloatVector grad = FloatVector.fromByteBuffer(S, g, gi, ORDER).div(k.divisor).mul(scale);
      FloatVector mi = FloatVector.fromByteBuffer(S, m, si, ORDER).mul(k.beta1).add(grad.mul(k.oneMinusBeta1));
      FloatVector vi = FloatVector.fromByteBuffer(S, v, si, ORDER).mul(k.beta2)
          .add(grad.mul(grad).mul(k.oneMinusBeta2));
      FloatVector u = mi.mul(k.stepSize).div(vi.sqrt().add(k.epsilon));
      FloatVector pi = FloatVector.fromByteBuffer(S, p, gi, ORDER);
      if (decays > 0) u = pi.mul(decay0).add(u);
      if (decays > 1) u = pi.mul(decay1).add(u);
      mi.intoByteBuffer(m, si, ORDER);
      vi.intoByteBuffer(v, si, ORDER);
      u.intoByteBuffer(g, gi, ORDER);
      pi.sub(u).intoByteBuffer(p, gi, ORDER);
    }
    for (; i < n; i++) {
      int gi = (at + i) * Float.BYTES;
      int si = (state + i) * Float.BYTES;
      float grad = g.getFloat(gi) / k.divisor * scale;
      float mi = m.getFloat(si) * k.beta1 + grad * k.oneMinusBeta1;
      float vi = v.getFloat(si) * k.beta2 + grad * grad * k.oneMinusBeta2;
      float u = mi * k.stepSize / ((float) Math.sqrt(vi) + k.epsilon);
      float pi = p.getFloat(gi);
      if (decays > 0) u = pi * decay0 + u;
      if (decays > 1) u = pi * decay1 + u;
      m.putFloat(si, mi);
      v.putFloat(si, vi);
      g.putFloat(gi, u);
      p.putFloat(gi, pi - u);
    }
  }

  /** A step's scalars, each rounded to float as libnd4j's Adam op rounds it. */
  record Constants(float divisor, float beta1, float beta2, float oneMinusBeta1, float oneMinusBeta2, float stepSize,
      float epsilon) {
    /** At {@code iteration} (counted from 0, as DL4J counts): libnd4j's Adam op uses beta^(iteration + 1). */
    static Constants of(int batchDivisor, double learningRate, double beta1, double beta2, double epsilon,
        int iteration) {
      // beta^t from ND4J's pow op: the op's powf, which Java's Math.pow rounds differently for some (beta, t).
      INDArray powers = Transforms.pow(Nd4j.createFromArray((float) beta1, (float) beta2), (float) iteration + 1f,
          false);
      float beta1Power = powers.getFloat(0);
      float beta2Power = powers.getFloat(1);
      float lr = (float) learningRate;
      float eps = (float) epsilon;
      if (eps == 0f) eps = 1e-7f;
      // lr * sqrt(1 - b2^t) in float, divided by (1 - b1^t) in double, as the op's expression mixes them.
      float stepSize = (float) ((double) (lr * (float) Math.sqrt((float) (1.0 - (double) beta2Power)))
          / (1.0 - (double) beta1Power));
      if (Float.isNaN(stepSize) || stepSize == 0f || Float.isInfinite(stepSize)) stepSize = eps;
      float b1 = (float) beta1;
      float b2 = (float) beta2;
      return new Constants((float) batchDivisor, b1, b2, 1f - b1, 1f - b2, stepSize, eps);
    }
  }
}
