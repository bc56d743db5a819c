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
 * products are small and those calls' cost around them is most of it. Here one pass per query row
 * computes its scores, softmax and output, reading q, k and v where the dense layers left them (rows
 * [b*T, d], head h in columns h*dh..), and it skips the masked half of the scores that ND4J computes
 * and then zeroes.
 *
 * <p>The arithmetic is ND4J's path's (scores scaled by 1 / sqrt(dh) before the softmax, which subtracts
 * the row's maximum and divides by the sum; its backward ds = scale * a * (da - sum(da * a))), with sums
 * in another order: results agree with it to float rounding. Only load this class after
 * {@link Kernels#vectorApiPresent()}: it links against the incubator module.
 *
 * <p>Arrays live on the heap, copied in and out of ND4J's memory in bulk: the JIT drops the bounds checks of
 * heap arrays that a ByteBuffer keeps per access. A score row is padded to whole vectors ({@code tp}), so
 * the keys' last vector needs no scalar tail: its lanes past the row's keys are masked to -inf before exp.
 * The inner loops call the JDK's vector methods directly (VectorKernels' class comment says why).
 */
final class VectorAttention {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();

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

  // Scratch: one head's keys (values in backward) transposed [dh, tp], zero past T; one row of scores.
  private float[] transposed = new float[0];
  private float[] row = new float[0];
  /** A vector's lanes, for {@link VectorMath#sum}. */
  private final float[] lanes = new float[L];
  private float[] rowWeights = new float[0];
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
    row = Layouts.grow(row, tp);
    rowWeights = Layouts.grow(rowWeights, tp);
    transposed = Layouts.grow(transposed, dh * tp);
    kept = training;
    if (training) weights = Layouts.grow(weights, b * heads * t * tp);
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < heads; h++) {
        transposeHead(k, bi, h);
        for (int i = 0; i < t; i++) {
          float[] w = training ? weights : rowWeights;
          int wAt = training ? ((bi * heads + h) * t + i) * tp : 0;
          int at = (bi * t + i) * d + h * dh;
          softmaxRow(at, i + 1, w, wAt);
          mix(w, wAt, i + 1, bi, h, at);
        }
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
    Arrays.fill(dk, 0, n, 0f);
    Arrays.fill(dv, 0, n, 0f);
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < heads; h++) {
        transposeHead(v, bi, h);
        for (int i = 0; i < t; i++) {
          int at = (bi * t + i) * d + h * dh;
          int wAt = ((bi * heads + h) * t + i) * tp;
          softmaxRowBackward(at, i + 1, wAt);
          accumulateRow(at, i + 1, bi, h, wAt);
        }
      }
    }
    Layouts.writeFloats(dq, dqRows, n);
    Layouts.writeFloats(dk, dkRows, n);
    Layouts.writeFloats(dv, dvRows, n);
  }

  /** {@link #transposed}[c, j] = head h's column c of rows (bi, j); 0 for j >= T. */
  private void transposeHead(float[] rows, int bi, int h) {
    for (int j = 0; j < t; j++) {
      int at = (bi * t + j) * d + h * dh;
      for (int c = 0; c < dh; c++) transposed[c * tp + j] = rows[at + c];
    }
  }

  /**
   * Row i of one head's weights into {@code w} from {@code wAt}: scores of the row's query (at {@code at})
   * against its {@code keys} keys (the transposed head), scaled, softmax; 0 from there to the next vector.
   */
  private void softmaxRow(int at, int keys, float[] w, int wAt) {
    int end = (keys + L - 1) / L * L;
    FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    FloatVector mv = ninf;
    for (int jb = 0; jb < end; jb += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int c = 0; c < dh; c++) {
        acc = FloatVector.fromArray(S, transposed, c * tp + jb).fma(FloatVector.broadcast(S, q[at + c]), acc);
      }
      // Masked on every vector, not only the last: a softmax that reassigned a vector under a branch made
      // JDK 17.0.15's C2 compiler crash the JVM (SIGSEGV in GraphKit::unbox_vector; docs/findings.md).
      FloatVector s = ninf.blend(acc.mul(scale), S.indexInRange(jb, keys));
      s.intoArray(row, jb);
      mv = mv.max(s);
    }
    float max = mv.reduceLanes(VectorOperators.MAX);
    FloatVector sv = FloatVector.zero(S);
    for (int jb = 0; jb < end; jb += L) {
      FloatVector e = VectorMath.exp(FloatVector.fromArray(S, row, jb).sub(max));                 // exp(-inf) = 0
      e.intoArray(row, jb);
      sv = sv.add(e);
    }
    sv.intoArray(lanes, 0);
    float sum = VectorMath.sum(lanes);
    for (int jb = 0; jb < end; jb += L) FloatVector.fromArray(S, row, jb).div(sum).intoArray(w, wAt + jb);
  }

  /** {@link #out}'s row (at {@code at}) = sum over the row's keys j of w[j] * v's row j, head h. */
  private void mix(float[] w, int wAt, int keys, int bi, int h, int at) {
    int vectors = S.loopBound(dh);
    int first = bi * t * d + h * dh;
    for (int cb = 0; cb < vectors; cb += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int j = 0; j < keys; j++) {
        acc = FloatVector.fromArray(S, v, first + j * d + cb).fma(FloatVector.broadcast(S, w[wAt + j]), acc);
      }
      acc.intoArray(out, at + cb);
    }
    for (int c = vectors; c < dh; c++) {
      float acc = 0f;
      for (int j = 0; j < keys; j++) acc += w[wAt + j] * v[first + j * d + c];
      out[at + c] = acc;
    }
  }

  /**
   * {@link #row} = dL/d(scores) of row i: da_j = dOut_i . v_j (the transposed head holds v), then
   * ds = scale * a * (da - sum(da * a)), 0 past the row's keys (where a is 0).
   */
  private void softmaxRowBackward(int at, int keys, int wAt) {
    int end = (keys + L - 1) / L * L;
    FloatVector dot = FloatVector.zero(S);
    for (int jb = 0; jb < end; jb += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int c = 0; c < dh; c++) {
        acc = FloatVector.fromArray(S, transposed, c * tp + jb).fma(FloatVector.broadcast(S, dOut[at + c]), acc);
      }
      acc.intoArray(row, jb);
      dot = acc.fma(FloatVector.fromArray(S, weights, wAt + jb), dot);
    }
    dot.intoArray(lanes, 0);
    float sum = VectorMath.sum(lanes);
    for (int jb = 0; jb < end; jb += L) {
      FloatVector.fromArray(S, row, jb).sub(sum).mul(FloatVector.fromArray(S, weights, wAt + jb)).mul(scale)
          .intoArray(row, jb);
    }
  }

  /**
   * Row i's share of the three gradients, head h: dq_i = sum_j ds_j k_j; dk_j += ds_j q_i; dv_j += a_j dOut_i,
   * over the row's keys j.
   */
  private void accumulateRow(int at, int keys, int bi, int h, int wAt) {
    int vectors = S.loopBound(dh);
    int first = bi * t * d + h * dh;
    for (int cb = 0; cb < vectors; cb += L) {
      FloatVector go = FloatVector.fromArray(S, dOut, at + cb);
      FloatVector qi = FloatVector.fromArray(S, q, at + cb);
      FloatVector acc = FloatVector.zero(S);
      for (int j = 0; j < keys; j++) {
        int kj = first + j * d + cb;
        FloatVector ds = FloatVector.broadcast(S, row[j]);
        acc = FloatVector.fromArray(S, k, kj).fma(ds, acc);
        qi.fma(ds, FloatVector.fromArray(S, dk, kj)).intoArray(dk, kj);
        go.fma(FloatVector.broadcast(S, weights[wAt + j]), FloatVector.fromArray(S, dv, kj)).intoArray(dv, kj);
      }
      acc.intoArray(dq, at + cb);
    }
    for (int c = vectors; c < dh; c++) {
      float acc = 0f;
      for (int j = 0; j < keys; j++) {
        int kj = first + j * d + c;
        acc += row[j] * k[kj];
        dk[kj] += row[j] * q[at + c];
        dv[kj] += weights[wAt + j] * dOut[at + c];
      }
      dq[at + c] = acc;
    }
  }
}
