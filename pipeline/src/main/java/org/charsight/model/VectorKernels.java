package org.charsight.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Kernels over ND4J's memory with the JDK's vector API, for {@link Kernels#VECTOR}. ND4J M2.1's exp is a
 * scalar libm call per element (~2 ns); the vector API's is SIMD (16 floats at a time with AVX-512).
 * Only load this class after {@link Kernels#vectorApiPresent()}: it links against the incubator module.
 */
final class VectorKernels {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

  private VectorKernels() {}

  /**
   * Per row of {@code z} [n, V]: {@code max[r]} = the row's maximum, the row replaced by exp(z - max)
   * (divided by its sum when {@code normalise}, i.e. the softmax), {@code sum[r]} = the sum of those
   * exponentials. One read of the row for the maximum, one read-write for exp; the division reads it
   * again while it is still in cache.
   */
  static void softmaxRows(INDArray z, float[] max, float[] sum, boolean normalise) {
    if (z.dataType() != DataType.FLOAT || z.rank() != 2 || z.ordering() != 'c' || z.elementWiseStride() != 1) {
      throw new IllegalArgumentException("softmaxRows needs a contiguous float [n, V] array in 'c' order, got "
          + z.shapeInfoToString());
    }
    int rows = (int) z.size(0);
    int cols = (int) z.size(1);
    ByteBuffer b = z.data().asNio();
    long first = z.offset() * Float.BYTES;
    int upper = S.loopBound(cols);
    for (int r = 0; r < rows; r++) {
      int base = Math.toIntExact(first + (long) r * cols * Float.BYTES);
      FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
      int c = 0;
      for (; c < upper; c += S.length()) mv = mv.max(FloatVector.fromByteBuffer(S, b, base + c * Float.BYTES, ORDER));
      float m = mv.reduceLanes(VectorOperators.MAX);
      for (; c < cols; c++) m = Math.max(m, b.getFloat(base + c * Float.BYTES));
      FloatVector sv = FloatVector.zero(S);
      for (c = 0; c < upper; c += S.length()) {
        int at = base + c * Float.BYTES;
        FloatVector e = FloatVector.fromByteBuffer(S, b, at, ORDER).sub(m).lanewise(VectorOperators.EXP);
        e.intoByteBuffer(b, at, ORDER);
        sv = sv.add(e);
      }
      float s = sv.reduceLanes(VectorOperators.ADD);
      for (; c < cols; c++) {
        int at = base + c * Float.BYTES;
        float e = (float) Math.exp(b.getFloat(at) - m);
        b.putFloat(at, e);
        s += e;
      }
      max[r] = m;
      sum[r] = s;
      if (normalise) {
        for (c = 0; c < upper; c += S.length()) {
          int at = base + c * Float.BYTES;
          FloatVector.fromByteBuffer(S, b, at, ORDER).div(s).intoByteBuffer(b, at, ORDER);
        }
        for (; c < cols; c++) b.putFloat(base + c * Float.BYTES, b.getFloat(base + c * Float.BYTES) / s);
      }
    }
  }
}
