package org.charsight.model;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Causal self-attention over all heads, forward and backward, in Java with the JDK's vector API: the
 * {@link Kernels#VECTOR} path of {@link DecoderBlock}. ND4J's path runs each head's products as batched
 * matrix products (two forward, four backward, each a oneDNN call that allocates its scratch) around the
 * softmax and the head layout copies; at the quick study's shapes (64 positions, heads of 16) the
 * products are small and those calls' cost around them is most of it. Here each head's products run in
 * one register-tiled loop ({@link #tile4x2}) reading q, k and v where the dense layers left them (rows
 * [b*T, d], head h in columns h*dh..), and the masked half of the scores that ND4J computes and then zeroes
 * is skipped a tile of rows at a time.
 *
 * <p>Why tiles: one query row at a time, every multiply-add waited for the one before it (a single
 * accumulator per output vector) and read its operand from memory; four rows and two vectors at a time
 * keep eight independent accumulators in registers and reuse each loaded vector four times. On a CPU
 * without AVX-512 (256-bit vectors) this was most of what attention cost at the default model
 * (docs/findings.md, 2026-12-03).
 *
 * <p>The arithmetic is ND4J's path's (scores scaled by 1 / sqrt(dh) before the softmax, which subtracts
 * the row's maximum and divides by the sum; its backward ds = scale * a * (da - sum(da * a))), with sums
 * in another order: results agree with it to float rounding. Every product sums its terms in increasing
 * index with one fused multiply-add each, as the row-at-a-time loops before the tiles did, so the tiles
 * changed no bit of a model's training. Only load this class after {@link Kernels#vectorApiPresent()}: it
 * links against the incubator module.
 *
 * <p>Arrays live on the heap, copied in and out of ND4J's memory in bulk: the JIT drops the bounds checks of
 * heap arrays that a ByteBuffer keeps per access. A head's score rows are padded to whole vectors ({@code tp})
 * and zero past each row's keys, so a tile may run past a row's last key: it adds zeros. The inner loops call
 * the JDK's vector methods directly (VectorKernels' class comment says why).
 */
final class VectorAttention {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();
  /** Rows per tile of {@link #tile4x2}. */
  private static final int R = 4;

  private final int heads;
  private final int dh;
  private final int d;
  private final float scale;

  // Kept from the last forward pass for the backward one: q, k, v rows [b*T, d] and, when training, the
  // attention weights [b, H, T, tp].
  private float[] q = new float[0];
  private float[] k = new float[0];
  private float[] v = new float[0];
  private float[] weights = new float[0];
  private int b;
  private int t;
  private int tp;
  private boolean kept;

  // Scratch: one head's keys (values in backward) transposed [dh, tp], zero past T; one head's scores
  // (dL/d(weights) in backward) [T, tp]; its weights when not training; dL/d(scores) [T, tp].
  private float[] transposed = new float[0];
  private float[] scores = new float[0];
  private float[] headWeights = new float[0];
  private float[] dScores = new float[0];
  /** A vector's lanes, for {@link VectorMath#sum}. */
  private final float[] lanes = new float[L];
  private float[] out = new float[0];
  private float[] dOut = new float[0];
  private float[] dq = new float[0];
  private float[] dk = new float[0];
  private float[] dv = new float[0];

  /**
   * @param scale what the scores are multiplied by before the softmax: the float ND4J's path uses
   */
  VectorAttention(int heads, int dh, float scale) {
    this.heads = heads;
    this.dh = dh;
    this.d = heads * dh;
    this.scale = scale;
  }

  /**
   * {@code merged} [b*T, d] = the heads' softmax(q k^T * scale + causal mask) v side by side, from q, k, v
   * rows [b*T, d]. With {@code training} the weights are kept for {@link #backward}.
   */
  void forward(INDArray qRows, INDArray kRows, INDArray vRows, int b, int t, boolean training, INDArray merged) {
    this.b = b;
    this.t = t;
    this.tp = (t + L - 1) / L * L;
    int n = b * t * d;
    q = Layouts.readFloats(qRows, q, n);
    k = Layouts.readFloats(kRows, k, n);
    v = Layouts.readFloats(vRows, v, n);
    out = Layouts.grow(out, n);
    growScratch();
    kept = training;
    if (training) weights = Layouts.grow(weights, b * heads * t * tp);
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < heads; h++) {
        int first = bi * t * d + h * dh;                                   // row 0 of this head in q, k, v
        float[] w = training ? weights : headWeights;
        int wAt = training ? (bi * heads + h) * t * tp : 0;
        transposeHead(k, first);
        byKeyRows(q, first, scores);                                       // scores = q k^T, causal tiles
        for (int i = 0; i < t; i++) softmaxRow(i, w, wAt + i * tp);
        byValueRows(w, wAt, tp, 1, v, first, out, first, false);              // out = weights v
      }
    }
    Layouts.writeFloats(out, merged, n);
  }

  /**
   * From dL/d{@code merged} of the last forward pass (with training): dL/dq, dL/dk and dL/dv as rows
   * [b*T, d].
   */
  void backward(INDArray dMerged, INDArray dqRows, INDArray dkRows, INDArray dvRows) {
    if (!kept) throw new IllegalStateException("attention backward without a training forward pass");
    int n = b * t * d;
    dOut = Layouts.readFloats(dMerged, dOut, n);
    dq = Layouts.grow(dq, n);
    dk = Layouts.grow(dk, n);
    dv = Layouts.grow(dv, n);
    growScratch();
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < heads; h++) {
        int first = bi * t * d + h * dh;
        int wAt = (bi * heads + h) * t * tp;
        transposeHead(v, first);
        byKeyRows(dOut, first, scores);                                    // dL/d(weights) = dOut v^T
        for (int i = 0; i < t; i++) softmaxRowBackward(i, wAt + i * tp);
        byValueRows(dScores, 0, tp, 1, k, first, dq, first, false);           // dq = ds k
        // dk = ds^T q and dv = weights^T dOut: row j of the result sums over queries i >= j, the
        // transposed matrix read down its column (stride tp); a tile starts at its first row's query, and the
        // queries before a later row's own (where ds and the weights are 0) add zeros.
        byValueRows(dScores, 0, 1, tp, q, first, dk, first, true);
        byValueRows(weights, wAt, 1, tp, dOut, first, dv, first, true);
      }
    }
    Layouts.writeFloats(dq, dqRows, n);
    Layouts.writeFloats(dk, dkRows, n);
    Layouts.writeFloats(dv, dvRows, n);
  }

  private void growScratch() {
    transposed = Layouts.grow(transposed, dh * tp);
    scores = Layouts.grow(scores, t * tp);
    headWeights = Layouts.grow(headWeights, t * tp);
    dScores = Layouts.grow(dScores, t * tp);
  }

  /** {@link #transposed}[c, j] = column c of the head's row j (rows from {@code first}); 0 for j >= T. */
  private void transposeHead(float[] rows, int first) {
    for (int j = 0; j < t; j++) {
      int at = first + j * d;
      for (int c = 0; c < dh; c++) transposed[c * tp + j] = rows[at + c];
    }
    for (int c = 0; c < dh; c++) Arrays.fill(transposed, c * tp + t, c * tp + tp, 0f);
  }

  /**
   * {@code into}[i, j] = row i of the head in {@code x} (rows from {@code first}) dotted with column j of
   * {@link #transposed}, for the keys j <= i, by whole vectors: a tile of rows computes up to its last row's
   * last key vector, and what lies past a row's keys is masked by the softmax that reads it.
   */
  private void byKeyRows(float[] x, int first, float[] into) {
    int i0 = 0;
    for (; i0 + R <= t; i0 += R) {
      int vectors = (i0 + R + L - 1) / L;                               // key vectors the tile's last row needs
      int jb = 0;
      for (; jb + 2 <= vectors; jb += 2) {
        tile4x2(x, first + i0 * d, d, 1, transposed, jb * L, tp, into, i0 * tp + jb * L, tp, 0, dh);
      }
      for (; jb < vectors; jb++) {
        for (int r = 0; r < R; r++) tile1(x, first + (i0 + r) * d, 1, transposed, jb * L, tp, into, (i0 + r) * tp + jb * L, 0, dh);
      }
    }
    for (int i = i0; i < t; i++) {
      for (int jb = 0; jb * L <= i; jb++) tile1(x, first + i * d, 1, transposed, jb * L, tp, into, i * tp + jb * L, 0, dh);
    }
  }

  /**
   * A head's [T, dh] rows of {@code into} (from {@code intoAt}, stride d) = a [T, T] matrix times the head's
   * rows of {@code y} (from {@code yAt}, stride d). The matrix is read at {@code a}[aAt + row * aRow + k * aK]:
   * aRow = tp, aK = 1 for weights or ds as they are, aRow = 1, aK = tp for their transposes. Row i sums over
   * k from 0 to i (a lower-triangular matrix) or, with {@code upper}, from i to T - 1 (the transpose of one), by
   * tiles that start or end at the tile's edge row; the terms past the triangle are 0.
   */
  private void byValueRows(float[] a, int aAt, int aRow, int aK, float[] y, int yAt, float[] into, int intoAt,
      boolean upper) {
    int vectors = S.loopBound(dh) / L;
    int i0 = 0;
    for (; i0 < t; i0 += R) {
      int rows = Math.min(R, t - i0);
      int k0 = upper ? i0 : 0;
      int k1 = upper ? t : i0 + rows;
      int cb = 0;
      if (rows == R) {
        for (; cb + 2 <= vectors; cb += 2) {
          tile4x2(a, aAt + i0 * aRow, aRow, aK, y, yAt + cb * L, d, into, intoAt + i0 * d + cb * L, d, k0, k1);
        }
      }
      for (int r = 0; r < rows; r++) {
        int i = i0 + r;
        int r0 = upper ? i : 0;
        int r1 = upper ? t : i + 1;
        for (int c = cb; c < vectors; c++) {
          tile1(a, aAt + i * aRow, aK, y, yAt + c * L, d, into, intoAt + i * d + c * L, r0, r1);
        }
        for (int c = vectors * L; c < dh; c++) {
          float acc = 0f;
          // Unfused, as the row-at-a-time tails were: the same bits (heads of 20 in the tests reach here).
          for (int kk = r0; kk < r1; kk++) acc += a[aAt + i * aRow + kk * aK] * y[yAt + kk * d + c];
          into[intoAt + i * d + c] = acc;
        }
      }
    }
  }

  /**
   * {@code c}[row r, two vectors] = sum over kk in [k0, k1), in order, of x[xAt + r * xRow + kk * xK] times
   * y's two vectors at yAt + kk * yK, for rows r < 4: eight accumulators, so no multiply-add waits for another.
   */
  private static void tile4x2(float[] x, int xAt, int xRow, int xK, float[] y, int yAt, int yK, float[] c, int cAt,
      int cRow, int k0, int k1) {
    FloatVector c00 = FloatVector.zero(S);
    FloatVector c01 = FloatVector.zero(S);
    FloatVector c10 = FloatVector.zero(S);
    FloatVector c11 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S);
    FloatVector c21 = FloatVector.zero(S);
    FloatVector c30 = FloatVector.zero(S);
    FloatVector c31 = FloatVector.zero(S);
    for (int kk = k0; kk < k1; kk++) {
      int yi = yAt + kk * yK;
      FloatVector y0 = FloatVector.fromArray(S, y, yi);
      FloatVector y1 = FloatVector.fromArray(S, y, yi + L);
      int xi = xAt + kk * xK;
      FloatVector x0 = FloatVector.broadcast(S, x[xi]);
      c00 = y0.fma(x0, c00);
      c01 = y1.fma(x0, c01);
      FloatVector x1 = FloatVector.broadcast(S, x[xi + xRow]);
      c10 = y0.fma(x1, c10);
      c11 = y1.fma(x1, c11);
      FloatVector x2 = FloatVector.broadcast(S, x[xi + 2 * xRow]);
      c20 = y0.fma(x2, c20);
      c21 = y1.fma(x2, c21);
      FloatVector x3 = FloatVector.broadcast(S, x[xi + 3 * xRow]);
      c30 = y0.fma(x3, c30);
      c31 = y1.fma(x3, c31);
    }
    c00.intoArray(c, cAt);
    c01.intoArray(c, cAt + L);
    c10.intoArray(c, cAt + cRow);
    c11.intoArray(c, cAt + cRow + L);
    c20.intoArray(c, cAt + 2 * cRow);
    c21.intoArray(c, cAt + 2 * cRow + L);
    c30.intoArray(c, cAt + 3 * cRow);
    c31.intoArray(c, cAt + 3 * cRow + L);
  }

  /** One row and one vector of {@link #tile4x2}: the tiles' edges. */
  private static void tile1(float[] x, int xAt, int xK, float[] y, int yAt, int yK, float[] c, int cAt, int k0, int k1) {
    FloatVector acc = FloatVector.zero(S);
    for (int kk = k0; kk < k1; kk++) {
      acc = FloatVector.fromArray(S, y, yAt + kk * yK).fma(FloatVector.broadcast(S, x[xAt + kk * xK]), acc);
    }
    acc.intoArray(c, cAt);
  }

  /**
   * Row i of the head's weights into {@code w} from {@code wAt}, from its scores in {@link #scores}: scaled,
   * masked past key i, softmax; 0 from there to tp.
   */
  private void softmaxRow(int i, float[] w, int wAt) {
    int keys = i + 1;
    int end = (keys + L - 1) / L * L;
    FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    FloatVector mv = ninf;
    int at = i * tp;
    for (int jb = 0; jb < end; jb += L) {
      // Masked on every vector, not only the last: a softmax that reassigned a vector under a branch made
      // JDK 17.0.15's C2 compiler crash the JVM (SIGSEGV in GraphKit::unbox_vector; docs/findings.md).
      FloatVector s = ninf.blend(FloatVector.fromArray(S, scores, at + jb).mul(scale), S.indexInRange(jb, keys));
      s.intoArray(scores, at + jb);
      mv = mv.max(s);
    }
    float max = mv.reduceLanes(VectorOperators.MAX);
    FloatVector sv = FloatVector.zero(S);
    for (int jb = 0; jb < end; jb += L) {
      FloatVector e = VectorMath.exp(FloatVector.fromArray(S, scores, at + jb).sub(max));        // exp(-inf) = 0
      e.intoArray(scores, at + jb);
      sv = sv.add(e);
    }
    sv.intoArray(lanes, 0);
    float sum = VectorMath.sum(lanes);
    for (int jb = 0; jb < end; jb += L) FloatVector.fromArray(S, scores, at + jb).div(sum).intoArray(w, wAt + jb);
    Arrays.fill(w, wAt + end, wAt + tp, 0f);
  }

  /**
   * Row i of {@link #dScores} = dL/d(scores), from dL/d(weights) in {@link #scores} and the weights (row i at
   * {@code wAt}): ds = scale * a * (da - sum(da * a)), 0 past the row's keys (where a is 0) to tp.
   */
  private void softmaxRowBackward(int i, int wAt) {
    int end = (i + 1 + L - 1) / L * L;
    int at = i * tp;
    FloatVector dot = FloatVector.zero(S);
    for (int jb = 0; jb < end; jb += L) {
      dot = FloatVector.fromArray(S, scores, at + jb).fma(FloatVector.fromArray(S, weights, wAt + jb), dot);
    }
    dot.intoArray(lanes, 0);
    float sum = VectorMath.sum(lanes);
    for (int jb = 0; jb < end; jb += L) {
      FloatVector.fromArray(S, scores, at + jb).sub(sum).mul(FloatVector.fromArray(S, weights, wAt + jb)).mul(scale)
          .intoArray(dScores, at + jb);
    }
    Arrays.fill(dScores, at + end, at + tp, 0f);
  }
}
