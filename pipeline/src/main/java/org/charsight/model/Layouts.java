package org.charsight.model;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Float arrays moved between the layouts a step uses: DL4J's [b, d, T] and the layers' rows [b*T, d],
 * rows and attention heads [b, H, T, dh]. Plain Java loops over ND4J's memory: ND4J M2.1 copies a permuted
 * view at 1.2-2.9 ns per element (76-185 µs for [16, 64, 64]); with these the small model's copy time in
 * ND4J's op profiler halved (docs/findings.md). A copy moves bits, so the result is ND4J's exactly; arrays
 * that are not float, contiguous and under 2 GB go to ND4J.
 */
final class Layouts {
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** Square tiles for the transposes: 16 x 16 floats, 1 KB, so both sides stay in cache. */
  private static final int TILE = 16;
  /** Per thread, the two heap arrays {@link #transposeBatches} copies through (a step calls it ~14 times). */
  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

  private Layouts() {}

  /** Whether every array is float, contiguous in row-major order and within what a ByteBuffer indexes. */
  static boolean contiguousFloat(INDArray... arrays) {
    for (INDArray a : arrays) {
      if (a == null) continue;
      // DL4J's bias and gain views are rank 1 and say 'f': for a vector the order means nothing.
      boolean rowMajor = a.ordering() == 'c' || a.isVectorOrScalar();
      if (a.dataType() != DataType.FLOAT || !rowMajor || (a.length() > 1 && a.elementWiseStride() != 1)) return false;
      if ((a.offset() + a.length()) * Float.BYTES > Integer.MAX_VALUE) return false;
    }
    return true;
  }

  /**
   * The array's values widened to double, into {@code into} when it is long enough: what {@code toDoubleVector}
   * gives, without a new array per call for a contiguous float array.
   */
  static double[] doubles(INDArray a, double[] into) {
    int n = Math.toIntExact(a.length());
    if (!contiguousFloat(a)) return a.reshape(a.length()).toDoubleVector();
    double[] out = into != null && into.length >= n ? into : new double[n];
    float[][] scratch = SCRATCH.get();
    float[] f = scratch[0] = readFloats(a, scratch[0], n);
    for (int i = 0; i < n; i++) out[i] = f[i];
    return out;
  }

  /** The first n floats of a contiguous float array in one bulk copy, into {@code into} (grown when short). */
  static float[] readFloats(INDArray a, float[] into, int n) {
    float[] r = grow(into, n);
    bytes(a).asFloatBuffer().get(0, r, 0, n);
    Reference.reachabilityFence(a);
    return r;
  }

  /** The first n floats of {@code from} into a contiguous float array, in one bulk copy. */
  static void writeFloats(float[] from, INDArray a, int n) {
    bytes(a).asFloatBuffer().put(0, from, 0, n);
    Reference.reachabilityFence(a);
  }

  /** {@code a} when it holds n floats, else a new array that does. */
  static float[] grow(float[] a, int n) {
    return a.length >= n ? a : new float[n];
  }

  /**
   * The array's memory, as a buffer whose byte 0 is element 0 of the array. The buffer does not keep the array
   * alive, and ND4J frees an array made outside any workspace once it is unreachable: a caller that reads or
   * writes through it keeps the array reachable until done ({@code Reference.reachabilityFence}; docs/findings.md,
   * 2026-12-04 late night).
   */
  static ByteBuffer bytes(INDArray a) {
    // A duplicate: positioning ND4J's own buffer object would move it for everyone else holding it.
    ByteBuffer b = a.data().asNio().duplicate();
    return b.position(Math.toIntExact(a.offset() * Float.BYTES)).slice().order(ORDER);
  }

  /** [b, p, q] -> [b, q, p] per batch: in = [b, d, T] gives rows [b*T, d], in = rows gives [b, d, T]. */
  static void transposeBatches(INDArray in, long batches, int p, int q, INDArray out) {
    // Each batch is copied out of ND4J's memory in bulk, transposed between heap arrays, where the JIT
    // drops the bounds checks that a ByteBuffer's getFloat/putFloat keep per element, and copied back.
    FloatBuffer src = bytes(in).asFloatBuffer();
    FloatBuffer dst = bytes(out).asFloatBuffer();
    float[][] scratch = SCRATCH.get();
    for (int i = 0; i < 2; i++) scratch[i] = grow(scratch[i], p * q);
    float[] a = scratch[0];
    float[] t = scratch[1];
    for (int b = 0; b < batches; b++) {
      int base = b * p * q;
      src.get(base, a, 0, p * q);
      for (int i0 = 0; i0 < p; i0 += TILE) {
        int i1 = Math.min(p, i0 + TILE);
        for (int j0 = 0; j0 < q; j0 += TILE) {
          int j1 = Math.min(q, j0 + TILE);
          for (int i = i0; i < i1; i++) {
            for (int j = j0; j < j1; j++) t[j * p + i] = a[i * q + j];
          }
        }
      }
      dst.put(base, t, 0, p * q);
    }
    Reference.reachabilityFence(in);
    Reference.reachabilityFence(out);
  }

  /**
   * rows [b*T, H*dh] -> heads [b, H, T, dh] ({@code toHeads}), or back. Each position's head is dh floats in
   * a row on both sides: a copy of segments.
   */
  static void heads(INDArray rows, INDArray heads, boolean toHeads) {
    long[] s = heads.shape();
    int b = (int) s[0];
    int h = (int) s[1];
    int t = (int) s[2];
    int dh = (int) s[3];
    ByteBuffer r = bytes(rows);
    ByteBuffer hd = bytes(heads);
    int segment = dh * Float.BYTES;
    for (int bi = 0; bi < b; bi++) {
      for (int hi = 0; hi < h; hi++) {
        for (int ti = 0; ti < t; ti++) {
          int atRow = ((bi * t + ti) * h + hi) * segment;
          int atHead = ((bi * h + hi) * t + ti) * segment;
          if (toHeads) {
            hd.put(atHead, r, atRow, segment);
          } else {
            r.put(atRow, hd, atHead, segment);
          }
        }
      }
    }
    Reference.reachabilityFence(rows);
    Reference.reachabilityFence(heads);
  }
}
