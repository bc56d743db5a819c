package org.charsight.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, sigmoid, tanh and a vector's sum for {@link VectorKernels} and {@link VectorAttention}, made only of
 * operations that IEEE 754 rounds exactly (add, multiply, fused multiply-add, divide, compare, bit moves) in a
 * fixed order, so a result is the same bits however the JVM runs the code. The vector API's own {@code EXP}
 * and {@code TANH} are not: C2 compiles them to Intel's SVML routines, while interpreted and C1-compiled code
 * computes each lane with {@code Math.exp}; which steps of a run ran before C2 compiled a kernel depends on
 * timing, so two runs of the same conf differed in the last bits and, from there, in their results
 * (docs/findings.md). The scalar forms run the same operations in the same order, so a kernel's tail elements
 * get the bits its vector lanes would.
 *
 * <p>exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-6 polynomial; within 2 ulp of the
 * true value), tanh Cephes' tanhf (an odd polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1) above).
 * Only load this class after {@link Kernels#vectorApiPresent()}.
 */
final class VectorMath {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  /** 1.5 x 2^23: adding it rounds to an integer, which then sits in the low bits of the sum's mantissa. */
  private static final float ROUNDER = 12582912f;
  /** The bits to take from the sum's to leave that integer, minus the exponent bias it is to become. */
  private static final int ROUNDER_BITS_MINUS_BIAS = Float.floatToRawIntBits(ROUNDER) - 127;
  private static final float LOG2E = 1.44269504088896341f;
  /** ln 2 in two parts; the first has few enough bits that n x it is exact for the n used here. */
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float P0 = 1.9875691500e-4f;
  private static final float P1 = 1.3981999507e-3f;
  private static final float P2 = 8.3334519073e-3f;
  private static final float P3 = 4.1665795894e-2f;
  private static final float P4 = 1.6666665459e-1f;
  private static final float P5 = 5.0000001201e-1f;
  /** Below, exp is taken as 0 (the true value is under 1.2e-38); above, +infinity (over 2.2e38). */
  private static final float EXP_LOW = -87.3f;
  private static final float EXP_HIGH = 88.3f;

  private static final float TANH_SMALL = 0.625f;
  private static final float T0 = -5.70498872745e-3f;
  private static final float T1 = 2.06390887954e-2f;
  private static final float T2 = -5.37397155531e-2f;
  private static final float T3 = 1.33314422036e-1f;
  private static final float T4 = -3.33332819422e-1f;

  private VectorMath() {}

  static FloatVector exp(FloatVector x) {
    FloatVector shifted = x.fma(LOG2E, ROUNDER);
    FloatVector n = shifted.sub(ROUNDER);                              // round(x / ln 2)
    FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
    r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);                   // x - n ln 2, |r| <= ln 2 / 2
    FloatVector p = r.fma(P0, P1);
    p = p.fma(r, FloatVector.broadcast(S, P2));
    p = p.fma(r, FloatVector.broadcast(S, P3));
    p = p.fma(r, FloatVector.broadcast(S, P4));
    p = p.fma(r, FloatVector.broadcast(S, P5));
    FloatVector y = p.fma(r.mul(r), r).add(1f);                        // exp(r)
    IntVector twoToN = shifted.reinterpretAsInts().sub(ROUNDER_BITS_MINUS_BIAS)
        .lanewise(VectorOperators.LSHL, 23);
    y = y.mul(twoToN.reinterpretAsFloats());
    // Outside the range n fits an exponent; -infinity (a masked score) gives 0, NaN stays NaN.
    y = y.blend(0f, x.lt(EXP_LOW));
    return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_HIGH));
  }

  static float exp(float x) {
    if (x < EXP_LOW) return 0f;
    if (x > EXP_HIGH) return Float.POSITIVE_INFINITY;
    float shifted = Math.fma(x, LOG2E, ROUNDER);
    float n = shifted - ROUNDER;
    float r = Math.fma(n, -LN2_HI, x);
    r = Math.fma(n, -LN2_LO, r);
    float p = Math.fma(r, P0, P1);
    p = Math.fma(p, r, P2);
    p = Math.fma(p, r, P3);
    p = Math.fma(p, r, P4);
    p = Math.fma(p, r, P5);
    float y = Math.fma(p, r * r, r) + 1f;
    return y * Float.intBitsToFloat((Float.floatToRawIntBits(shifted) - ROUNDER_BITS_MINUS_BIAS) << 23);
  }

  /**
   * The sum of a vector's lanes, stored in {@code lanes} by the caller ({@code v.intoArray(lanes, 0)}), lane 0
   * first. The vector API leaves the order of its ADD reduction to the implementation (JDK 17's C2 happens to
   * keep lane order; later compilers may not): this fixes it. The caller stores the vector because a vector
   * passed to a call C2 does not inline is boxed on the heap, and calls in long loops are not inlined.
   */
  static float sum(float[] lanes) {
    float s = lanes[0];
    for (int i = 1; i < S.length(); i++) s += lanes[i];
    return s;
  }

  static FloatVector sigmoid(FloatVector x) {
    return FloatVector.broadcast(S, 1f).div(exp(x.neg()).add(1f));
  }

  static float sigmoid(float x) {
    return 1f / (1f + exp(-x));
  }

  static FloatVector tanh(FloatVector x) {
    FloatVector a = x.abs();
    FloatVector z = x.mul(x);
    FloatVector p = z.fma(T0, T1);
    p = p.fma(z, FloatVector.broadcast(S, T2));
    p = p.fma(z, FloatVector.broadcast(S, T3));
    p = p.fma(z, FloatVector.broadcast(S, T4));
    FloatVector small = p.mul(z).fma(x, x);                           // x + x^3 p(x^2)
    FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(a.add(a)).add(1f)));
    large = large.blend(large.neg(), x.lt(0f));
    VectorMask<Float> isSmall = a.lt(TANH_SMALL);
    return large.blend(small, isSmall);
  }

  static float tanh(float x) {
    float a = Math.abs(x);
    if (a < TANH_SMALL) {
      float z = x * x;
      float p = Math.fma(z, T0, T1);
      p = Math.fma(p, z, T2);
      p = Math.fma(p, z, T3);
      p = Math.fma(p, z, T4);
      return Math.fma(p * z, x, x);
    }
    float large = 1f - 2f / (exp(a + a) + 1f);
    return x < 0f ? -large : large;
  }
}
