package org.charsight.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Kernels over ND4J's memory with the JDK's vector API, for {@link Kernels#VECTOR}. ND4J M2.1's exp,
 * sigmoid and tanh are scalar libm calls per element (~2 ns); {@link VectorMath}'s are SIMD (16 floats at a
 * time with AVX-512). And each ND4J call costs 7-25 µs around its work, so where the ND4J path chains
 * five or ten elementwise calls these do the same arithmetic in one pass, in the same order, so results
 * differ from ND4J's in the last bits only (exp and friends are not bit-identical; sums run in another
 * order). They are the same bits from run to run: every operation here is one IEEE 754 rounds exactly, sums
 * run in a fixed order, and never the vector API's EXP, TANH or ADD reduction, whose compiled and interpreted
 * forms may differ ({@link VectorMath}).
 *
 * <p>Every array is float, contiguous in 'c' order, and within the 2 GB a ByteBuffer can index: callers
 * ask {@link #fit} first and keep ND4J's path otherwise. Only load this class after
 * {@link Kernels#vectorApiPresent()}: it links against the incubator module.
 *
 * <p>A vector is only fast while C2 keeps it in registers, which needs every method it passes through
 * inlined. The JDK's vector methods are always inlined; ours ({@link Mem#load}, {@link VectorMath}) only
 * while the compiled method is under C2's node budget. The LSTM kernels, with thirty vector operations
 * a loop, went over it: their helper calls stayed calls, each vector boxed on the heap, and the two
 * kernels ran 2-4x slower than they do calling the JDK directly (timed alone on the small char model's
 * shapes; docs/findings.md). Kernels that size call the JDK directly, or split their passes into methods.
 */
final class VectorKernels {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final float GELU = (float) RowOps.GELU_SCALE;

  private VectorKernels() {}

  /** Whether every array can go through these kernels (the ND4J path takes the rest). */
  static boolean fit(INDArray... arrays) {
    return Layouts.contiguousFloat(arrays);
  }

  /** A contiguous float array's memory: element i at byte {@code 4 i} of {@code b}. */
  private record Mem(ByteBuffer b) {
    static Mem of(INDArray a) {
      if (!fit(a)) throw new IllegalArgumentException("a vector kernel needs a contiguous float array in 'c' order"
          + " under 2 GB, got " + a.shapeInfoToString());
      return new Mem(Layouts.bytes(a));
    }

    FloatVector load(int i) {
      return FloatVector.fromByteBuffer(S, b, i * Float.BYTES, ORDER);
    }

    void store(int i, FloatVector v) {
      v.intoByteBuffer(b, i * Float.BYTES, ORDER);
    }

    float get(int i) {
      return b.getFloat(i * Float.BYTES);
    }

    void set(int i, float v) {
      b.putFloat(i * Float.BYTES, v);
    }
  }

  /**
   * Per row of {@code z} [n, V]: {@code max[r]} = the row's maximum, the row replaced by exp(z - max)
   * (divided by its sum when {@code normalise}, i.e. the softmax), {@code sum[r]} = the sum of those
   * exponentials. One read of the row for the maximum, one read-write for exp; the division reads it
   * again while it is still in cache.
   */
  static void softmaxRows(INDArray z, float[] max, float[] sum, boolean normalise) {
    if (z.rank() != 2) throw new IllegalArgumentException("softmaxRows needs [n, V], got " + z.shapeInfoToString());
    Mem m = Mem.of(z);
    int rows = (int) z.size(0);
    int cols = (int) z.size(1);
    float[] lanes = new float[L];
    for (int r = 0; r < rows; r++) {
      int row = r * cols;
      max[r] = rowMax(m, row, cols, 1f);
      sum[r] = expRow(m, row, cols, 1f, max[r], lanes);
      if (normalise) divideRow(m, row, cols, sum[r]);
    }
  }

  /**
   * The output layer's softmax cross-entropy over {@code z} [n, V] holding x W, in the passes over each row the
   * softmax makes anyway: the bias added while the maximum is taken, {@code picked[r]} = the label's logit,
   * {@code max[r]} and {@code sum[r]} as {@link #softmaxRows}; and when {@code biasGrad} is given, the row
   * turned into dLoss/dz = weight (softmax - onehot(label)) and added into the bias gradient. Three passes over
   * a row while it is in cache (the bias and the maximum, exp, the gradient), where the bias add and the bias
   * gradient's column sums were a pass each over all of [n, V] from memory (about 1.4% of the 8,192 step saved,
   * docs/findings.md) and the gradient three more over the row. Every element gets
   * the operations RowOps.dense, the softmax, the gradient and {@link #columnSums} gave it one after another, in
   * the same order (the column sums add rows in order either way): the same bits. Rows of weight 0 are computed all the same
   * and their label is not read; {@code weight} null means every weight is 1.
   */
  static void softmaxLoss(INDArray z, INDArray bias, int[] label, float[] weight, float[] max, float[] sum,
      float[] picked, INDArray biasGrad) {
    Mem m = Mem.of(z);
    ByteBuffer mb = Mem.of(bias).b();
    int rows = (int) z.size(0);
    int cols = (int) z.size(1);
    if (bias.length() != cols) throw new IllegalArgumentException("softmaxLoss: bias of " + bias.length() + " for " + cols);
    float[] lanes = new float[L];
    float[] columns = biasGrad == null ? null : new float[cols];
    for (int r = 0; r < rows; r++) {
      int row = r * cols;
      float w = weight == null ? 1f : weight[r];
      max[r] = addRowMax(m, row, cols, mb);
      if (w != 0) picked[r] = m.get(row + label[r]);
      sum[r] = expRow(m, row, cols, 1f, max[r], lanes);
      if (columns == null) continue;
      gradientRow(m, row, cols, sum[r], w != 0 ? label[r] : -1, weight != null, w, columns);
    }
    if (columns != null) {
      ByteBuffer mo = Mem.of(biasGrad).b();
      for (int c = 0; c < cols; c++) mo.putFloat(4 * c, columns[c]);
    }
  }

  /**
   * The row of exponentials turned into the gradient and added into the bias gradient, in one pass: each element
   * divided by the sum, minus 1 at the label ({@code label} -1: none), times the weight when {@code scale}, then
   * added to its column. These were three passes over the row and a write at the label; each element gets the
   * same operations in the same order.
   */
  private static void gradientRow(Mem z, int row, int cols, float sum, int label, boolean scale, float w,
      float[] columns) {
    ByteBuffer b = z.b();
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      if (label >= c && label < c + L) {
        for (int j = c; j < c + L; j++) gradientElement(b, row, j, sum, j == label, scale, w, columns);
        continue;
      }
      int at = (row + c) * Float.BYTES;
      FloatVector x = FloatVector.fromByteBuffer(S, b, at, ORDER).div(sum);
      if (scale) x = x.mul(w);
      x.intoByteBuffer(b, at, ORDER);
      FloatVector.fromArray(S, columns, c).add(x).intoArray(columns, c);
    }
    for (; c < cols; c++) gradientElement(b, row, c, sum, c == label, scale, w, columns);
  }

  private static void gradientElement(ByteBuffer b, int row, int c, float sum, boolean label, boolean scale, float w,
      float[] columns) {
    int at = (row + c) * Float.BYTES;
    float x = b.getFloat(at) / sum;
    // As a double minus 1 stored as a float, the way the ND4J path does it (the same float: double rounding of a
    // float difference is exact).
    if (label) x = (float) (x - 1.0);
    if (scale) x = x * w;
    b.putFloat(at, x);
    columns[c] += x;
  }

  /** z += bias over {@code [row, row+cols)}; returns the maximum of the sums. */
  private static float addRowMax(Mem z, int row, int cols, ByteBuffer bias) {
    ByteBuffer b = z.b();
    FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      int at = (row + c) * Float.BYTES;
      FloatVector v = FloatVector.fromByteBuffer(S, b, at, ORDER).add(FloatVector.fromByteBuffer(S, bias, c * Float.BYTES, ORDER));
      v.intoByteBuffer(b, at, ORDER);
      mv = mv.max(v);
    }
    float m = mv.reduceLanes(VectorOperators.MAX);
    for (; c < cols; c++) {
      float v = z.get(row + c) + bias.getFloat(c * Float.BYTES);
      z.set(row + c, v);
      m = Math.max(m, v);
    }
    return m;
  }

  /** columns[c] += z[row + c] for c in {@code [0, cols)}. */
  private static void addToColumns(float[] columns, Mem z, int row, int cols) {
    ByteBuffer b = z.b();
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      FloatVector.fromArray(S, columns, c).add(FloatVector.fromByteBuffer(S, b, (row + c) * Float.BYTES, ORDER))
          .intoArray(columns, c);
    }
    for (; c < cols; c++) columns[c] += z.get(row + c);
  }

  /** The maximum of {@code scale * z[row .. row+cols)}. */
  private static float rowMax(Mem z, int row, int cols, float scale) {
    ByteBuffer b = z.b();
    FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      mv = mv.max(FloatVector.fromByteBuffer(S, b, (row + c) * Float.BYTES, ORDER).mul(scale));
    }
    float m = mv.reduceLanes(VectorOperators.MAX);
    for (; c < cols; c++) m = Math.max(m, z.get(row + c) * scale);
    return m;
  }

  /**
   * z = exp(scale * z - max) over {@code [row, row+cols)}; returns their sum. The JDK's vector methods are
   * called directly: with exp inlined, C2 left {@link Mem#store} a call here, each vector boxed on the heap (a
   * perf profile of the 8,192 step; docs/findings.md, 2026-12-03).
   */
  private static float expRow(Mem z, int row, int cols, float scale, float max, float[] lanes) {
    ByteBuffer b = z.b();
    FloatVector sv = FloatVector.zero(S);
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      int at = (row + c) * Float.BYTES;
      FloatVector e = VectorMath.exp(FloatVector.fromByteBuffer(S, b, at, ORDER).mul(scale).sub(max));
      e.intoByteBuffer(b, at, ORDER);
      sv = sv.add(e);
    }
    sv.intoArray(lanes, 0);
    float s = VectorMath.sum(lanes);
    for (; c < cols; c++) {
      float e = VectorMath.exp(z.get(row + c) * scale - max);
      z.set(row + c, e);
      s += e;
    }
    return s;
  }

  /** z /= by over {@code [row, row+cols)}: dividing, not multiplying by 1 / by, keeps ND4J's rounding. */
  private static void divideRow(Mem z, int row, int cols, float by) {
    ByteBuffer b = z.b();
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      int at = (row + c) * Float.BYTES;
      FloatVector.fromByteBuffer(S, b, at, ORDER).div(by).intoByteBuffer(b, at, ORDER);
    }
    for (; c < cols; c++) z.set(row + c, z.get(row + c) / by);
  }

  /** y[r] += b for every row of {@code y} [n, k]. */
  static void addRow(INDArray y, INDArray b) {
    ByteBuffer my = Mem.of(y).b();
    ByteBuffer mb = Mem.of(b).b();
    int k = (int) b.length();
    int n = (int) (y.length() / k);
    int upper = S.loopBound(k);
    for (int r = 0; r < n; r++) {
      int row = 4 * r * k;
      int c = 0;
      for (; c < 4 * upper; c += 4 * L) {
        FloatVector.fromByteBuffer(S, my, row + c, ORDER).add(FloatVector.fromByteBuffer(S, mb, c, ORDER))
            .intoByteBuffer(my, row + c, ORDER);
      }
      for (; c < 4 * k; c += 4) my.putFloat(row + c, my.getFloat(row + c) + mb.getFloat(c));
    }
  }

  /** out[c] = the sum of column c of {@code m} [n, k], rows added in order. */
  static void columnSums(INDArray m, INDArray out) {
    Mem mm = Mem.of(m);
    int k = (int) out.length();
    int n = (int) (m.length() / k);
    float[] sum = new float[k];
    for (int r = 0; r < n; r++) addToColumns(sum, mm, r * k, k);
    ByteBuffer mo = Mem.of(out).b();
    for (int c = 0; c < k; c++) mo.putFloat(4 * c, sum[c]);
  }

  /**
   * Attention weights in place: per row of {@code scores} [rows, T], row r the query at position
   * r mod T, softmax(scale * s) over keys 0..position, and 0 after it (the causal mask). ND4J's path
   * adds -1e9 there and takes exp of it, which is exactly 0 in float; this skips those keys.
   */
  static void causalSoftmax(INDArray scores, int t, float scale) {
    Mem m = Mem.of(scores);
    int rows = (int) (scores.length() / t);
    float[] lanes = new float[L];
    for (int r = 0; r < rows; r++) {
      int row = r * t;
      int keys = r % t + 1;
      float max = rowMax(m, row, keys, scale);
      float sum = expRow(m, row, keys, scale, max, lanes);
      divideRow(m, row, keys, sum);
      for (int c = keys; c < t; c++) m.set(row + c, 0f);
    }
  }

  /**
   * Backward of {@link #causalSoftmax} in place over {@code da} (dL/d weights in, dL/d scores out):
   * per row, ds = scale * a * (da - sum(da * a)), 0 after the row's position.
   */
  static void causalSoftmaxBackward(INDArray da, INDArray a, int t, float scale) {
    Mem g = Mem.of(da);
    Mem w = Mem.of(a);
    int rows = (int) (da.length() / t);
    float[] lanes = new float[L];
    for (int r = 0; r < rows; r++) {
      int row = r * t;
      int keys = r % t + 1;
      int upper = S.loopBound(keys);
      FloatVector dv = FloatVector.zero(S);
      int c = 0;
      for (; c < upper; c += L) dv = g.load(row + c).fma(w.load(row + c), dv);
      dv.intoArray(lanes, 0);
      float dot = VectorMath.sum(lanes);
      for (; c < keys; c++) dot += g.get(row + c) * w.get(row + c);
      for (c = 0; c < upper; c += L) g.store(row + c, g.load(row + c).sub(dot).mul(w.load(row + c)).mul(scale));
      for (; c < keys; c++) g.set(row + c, (g.get(row + c) - dot) * w.get(row + c) * scale);
      for (c = keys; c < t; c++) g.set(row + c, 0f);
    }
  }

  /** GELU, x * sigmoid(1.702 x), keeping the sigmoid in {@code gate}: {@link RowOps}'s three ND4J calls in one pass. */
  static void gelu(INDArray x, INDArray gate, INDArray y) {
    Mem mx = Mem.of(x);
    Mem mg = Mem.of(gate);
    Mem my = Mem.of(y);
    int n = (int) x.length();
    int i = 0;
    for (int upper = S.loopBound(n); i < upper; i += L) {
      FloatVector v = mx.load(i);
      FloatVector s = VectorMath.sigmoid(v.mul(GELU));
      mg.store(i, s);
      my.store(i, v.mul(s));
    }
    for (; i < n; i++) {
      float v = mx.get(i);
      float s = VectorMath.sigmoid(v * GELU);
      mg.set(i, s);
      my.set(i, v * s);
    }
  }

  /** dy *= s (1 + 1.702 x (1 - s)), s the kept sigmoid: {@link RowOps}'s six ND4J calls in one pass, same order. */
  static void geluBackward(INDArray x, INDArray gate, INDArray dy) {
    Mem mx = Mem.of(x);
    Mem mg = Mem.of(gate);
    Mem md = Mem.of(dy);
    int n = (int) x.length();
    int i = 0;
    for (int upper = S.loopBound(n); i < upper; i += L) {
      FloatVector s = mg.load(i);
      FloatVector slope = s.neg().add(1f).mul(mx.load(i)).mul(GELU).add(1f).mul(s);
      md.store(i, md.load(i).mul(slope));
    }
    for (; i < n; i++) {
      float s = mg.get(i);
      md.set(i, md.get(i) * (((1f - s) * mx.get(i) * GELU + 1f) * s));
    }
  }

  /**
   * LayerNorm per row of x [n, d] as {@link RowOps#layerNorm}: mean and variance (divisor d, no
   * epsilon), x-hat and 1/std kept for backward, a row without variance giving x-hat 0.
   */
  static void layerNorm(INDArray x, INDArray gain, INDArray bias, INDArray xhat, INDArray rstd, INDArray y) {
    Mem mx = Mem.of(x);
    Mem mh = Mem.of(xhat);
    Mem my = Mem.of(y);
    Mem mr = Mem.of(rstd);
    Mem mgain = Mem.of(gain);
    Mem mbias = Mem.of(bias);
    int n = (int) x.size(0);
    int d = (int) x.size(1);
    int upper = S.loopBound(d);
    float[] lanes = new float[L];
    for (int r = 0; r < n; r++) {
      int row = r * d;
      FloatVector sv = FloatVector.zero(S);
      int c = 0;
      for (; c < upper; c += L) sv = sv.add(mx.load(row + c));
      sv.intoArray(lanes, 0);
      float sum = VectorMath.sum(lanes);
      for (; c < d; c++) sum += mx.get(row + c);
      float mean = sum / d;
      FloatVector qv = FloatVector.zero(S);
      for (c = 0; c < upper; c += L) {
        FloatVector centred = mx.load(row + c).sub(mean);
        mh.store(row + c, centred);
        qv = centred.fma(centred, qv);
      }
      qv.intoArray(lanes, 0);
      float squares = VectorMath.sum(lanes);
      for (; c < d; c++) {
        float centred = mx.get(row + c) - mean;
        mh.set(row + c, centred);
        squares += centred * centred;
      }
      float variance = squares / d;
      float inv = variance == 0f ? 0f : (float) (1.0 / Math.sqrt(variance));       // exact ops: see VectorMath
      mr.set(r, inv);
      for (c = 0; c < upper; c += L) {
        FloatVector h = mh.load(row + c).mul(inv);
        mh.store(row + c, h);
        my.store(row + c, h.mul(mgain.load(c)).add(mbias.load(c)));
      }
      for (; c < d; c++) {
        float h = mh.get(row + c) * inv;
        mh.set(row + c, h);
        my.set(row + c, h * mgain.get(c) + mbias.get(c));
      }
    }
  }

  /**
   * Backward of {@link #layerNorm} as {@link RowOps#layerNormBackward}: gain and bias gradients written,
   * dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gain.
   */
  static void layerNormBackward(INDArray dy, INDArray gain, INDArray xhat, INDArray rstd, INDArray gGain,
      INDArray gBias, INDArray dx) {
    Mem md = Mem.of(dy);
    Mem mh = Mem.of(xhat);
    Mem mr = Mem.of(rstd);
    Mem mx = Mem.of(dx);
    Mem mgain = Mem.of(gain);
    int n = (int) dy.size(0);
    int d = (int) dy.size(1);
    int upper = S.loopBound(d);
    float[] sumGain = new float[d];
    float[] sumBias = new float[d];
    float[] lanes = new float[L];
    for (int r = 0; r < n; r++) {
      int row = r * d;
      FloatVector gv = FloatVector.zero(S);
      FloatVector gxv = FloatVector.zero(S);
      int c = 0;
      for (; c < upper; c += L) {
        FloatVector dyv = md.load(row + c);
        FloatVector h = mh.load(row + c);
        FloatVector g = dyv.mul(mgain.load(c));
        gv = gv.add(g);
        gxv = g.fma(h, gxv);
        dyv.fma(h, FloatVector.fromArray(S, sumGain, c)).intoArray(sumGain, c);
        dyv.add(FloatVector.fromArray(S, sumBias, c)).intoArray(sumBias, c);
      }
      gv.intoArray(lanes, 0);
      float sg = VectorMath.sum(lanes);
      gxv.intoArray(lanes, 0);
      float sgx = VectorMath.sum(lanes);
      for (; c < d; c++) {
        float dyc = md.get(row + c);
        float h = mh.get(row + c);
        float g = dyc * mgain.get(c);
        sg += g;
        sgx += g * h;
        sumGain[c] += dyc * h;
        sumBias[c] += dyc;
      }
      float meanG = sg / d;
      float meanGx = sgx / d;
      float inv = mr.get(r);
      for (c = 0; c < upper; c += L) {
        FloatVector h = mh.load(row + c);
        FloatVector g = md.load(row + c).mul(mgain.load(c));
        mx.store(row + c, mx.load(row + c).add(g.sub(meanG).sub(h.mul(meanGx)).mul(inv)));
      }
      for (; c < d; c++) {
        float g = md.get(row + c) * mgain.get(c);
        mx.set(row + c, mx.get(row + c) + (g - meanG - mh.get(row + c) * meanGx) * inv);
      }
    }
    Mem gg = Mem.of(gGain);
    Mem gb = Mem.of(gBias);
    for (int c = 0; c < d; c++) {
      gg.set(c, sumGain[c]);
      gb.set(c, sumBias[c]);
    }
  }

  /**
   * One LSTM step in place over {@code acts} [u, 4h] (gate pre-activations i, f, g, o in, activations
   * out): cell = i * g + f * prevCell (no forget term when {@code prevCell} is null), tanhCell =
   * tanh(cell), state = o * tanhCell. The ND4J path's eleven calls in four passes over each row, in cache.
   */
  static void lstmStep(INDArray acts, INDArray prevCell, INDArray cell, INDArray tanhCell, INDArray state) {
    ByteBuffer a = Mem.of(acts).b();
    ByteBuffer pc = prevCell == null ? null : Mem.of(prevCell).b();
    ByteBuffer mc = Mem.of(cell).b();
    ByteBuffer tc = Mem.of(tanhCell).b();
    ByteBuffer ms = Mem.of(state).b();
    int u = (int) acts.size(0);
    int h = (int) cell.size(1);
    // One method per pass, each with one VectorMath call in its loop: in one loop the five calls took C2 past
    // its node budget, and it stopped inlining them (each vector then boxed on the heap; class comment).
    for (int r = 0; r < u; r++) {
      int gates = 4 * r * 4 * h;                                        // byte offsets
      sigmoidInPlace(a, gates, 2 * h);                                  // input and forget gates
      tanhInPlace(a, gates + 2 * 4 * h, h);                             // candidate
      sigmoidInPlace(a, gates + 3 * 4 * h, h);                          // output gate
      lstmCell(a, gates, pc, mc, tc, ms, 4 * r * h, h);
    }
  }

  /** {@code n} floats from byte {@code at} of {@code b} replaced by their sigmoid. */
  private static void sigmoidInPlace(ByteBuffer b, int at, int n) {
    int i = 0;
    for (int end = at + 4 * S.loopBound(n); at + i < end; i += 4 * L) {
      VectorMath.sigmoid(FloatVector.fromByteBuffer(S, b, at + i, ORDER)).intoByteBuffer(b, at + i, ORDER);
    }
    for (; i < 4 * n; i += 4) b.putFloat(at + i, VectorMath.sigmoid(b.getFloat(at + i)));
  }

  /** {@code n} floats from byte {@code at} of {@code b} replaced by their tanh. */
  private static void tanhInPlace(ByteBuffer b, int at, int n) {
    int i = 0;
    for (int end = at + 4 * S.loopBound(n); at + i < end; i += 4 * L) {
      VectorMath.tanh(FloatVector.fromByteBuffer(S, b, at + i, ORDER)).intoByteBuffer(b, at + i, ORDER);
    }
    for (; i < 4 * n; i += 4) b.putFloat(at + i, VectorMath.tanh(b.getFloat(at + i)));
  }

  /**
   * One row of the LSTM's cell from its gate activations (at byte {@code gates} of {@code a}): cell = i * g + f *
   * prevCell, tanhCell = tanh(cell), state = o * tanhCell, each at byte {@code row} of its buffer.
   */
  private static void lstmCell(ByteBuffer a, int gates, ByteBuffer pc, ByteBuffer mc, ByteBuffer tc, ByteBuffer ms,
      int row, int h) {
    int hb = 4 * h;
    int j = 0;
    for (int upper = 4 * S.loopBound(h); j < upper; j += 4 * L) {
      FloatVector c = FloatVector.fromByteBuffer(S, a, gates + j, ORDER)
          .mul(FloatVector.fromByteBuffer(S, a, gates + 2 * hb + j, ORDER));
      if (pc != null) {
        c = c.add(FloatVector.fromByteBuffer(S, a, gates + hb + j, ORDER).mul(FloatVector.fromByteBuffer(S, pc, row + j,
            ORDER)));
      }
      FloatVector t = VectorMath.tanh(c);
      c.intoByteBuffer(mc, row + j, ORDER);
      t.intoByteBuffer(tc, row + j, ORDER);
      t.mul(FloatVector.fromByteBuffer(S, a, gates + 3 * hb + j, ORDER)).intoByteBuffer(ms, row + j, ORDER);
    }
    for (; j < hb; j += 4) {
      float c = a.getFloat(gates + j) * a.getFloat(gates + 2 * hb + j);
      if (pc != null) c += a.getFloat(gates + hb + j) * pc.getFloat(row + j);
      float t = VectorMath.tanh(c);
      mc.putFloat(row + j, c);
      tc.putFloat(row + j, t);
      ms.putFloat(row + j, t * a.getFloat(gates + 3 * hb + j));
    }
  }

  /**
   * Backward of {@link #lstmStep} from dL/d state (and dL/d cell carried from the step after, in and
   * out of {@code dCell}): dL/d gate pre-activations into {@code dGates} [u, 4h], and {@code dCell}
   * becomes dL/d prevCell (f * dCell; left as is when {@code prevCell} is null, the first step).
   */
  static void lstmStepBackward(INDArray acts, INDArray tanhCell, INDArray prevCell, INDArray dState, INDArray dCell,
      INDArray dGates) {
    // Direct JDK calls in the vector loop, as in lstmStep.
    ByteBuffer a = Mem.of(acts).b();
    ByteBuffer tc = Mem.of(tanhCell).b();
    ByteBuffer pc = prevCell == null ? null : Mem.of(prevCell).b();
    ByteBuffer ds = Mem.of(dState).b();
    ByteBuffer dc = Mem.of(dCell).b();
    ByteBuffer dg = Mem.of(dGates).b();
    int u = (int) acts.size(0);
    int h = (int) tanhCell.size(1);
    int upper = S.loopBound(h);
    FloatVector zero = FloatVector.zero(S);
    for (int r = 0; r < u; r++) {
      int gates = 4 * r * 4 * h;                                        // byte offsets from here on
      int row = 4 * r * h;
      int hb = 4 * h;
      int j = 0;
      for (; j < 4 * upper; j += 4 * L) {
        FloatVector in = FloatVector.fromByteBuffer(S, a, gates + j, ORDER);
        FloatVector forget = FloatVector.fromByteBuffer(S, a, gates + hb + j, ORDER);
        FloatVector cand = FloatVector.fromByteBuffer(S, a, gates + 2 * hb + j, ORDER);
        FloatVector out = FloatVector.fromByteBuffer(S, a, gates + 3 * hb + j, ORDER);
        FloatVector t = FloatVector.fromByteBuffer(S, tc, row + j, ORDER);
        FloatVector dsv = FloatVector.fromByteBuffer(S, ds, row + j, ORDER);
        FloatVector dcv = FloatVector.fromByteBuffer(S, dc, row + j, ORDER).add(dsv.mul(out).mul(t.mul(t).neg().add(1f)));
        dsv.mul(t).mul(out.neg().add(1f).mul(out)).intoByteBuffer(dg, gates + 3 * hb + j, ORDER);
        dcv.mul(cand).mul(in.neg().add(1f).mul(in)).intoByteBuffer(dg, gates + j, ORDER);
        dcv.mul(in).mul(cand.mul(cand).neg().add(1f)).intoByteBuffer(dg, gates + 2 * hb + j, ORDER);
        if (pc != null) {
          dcv.mul(FloatVector.fromByteBuffer(S, pc, row + j, ORDER)).mul(forget.neg().add(1f).mul(forget))
              .intoByteBuffer(dg, gates + hb + j, ORDER);
          dcv = dcv.mul(forget);
        } else {
          zero.intoByteBuffer(dg, gates + hb + j, ORDER);
        }
        dcv.intoByteBuffer(dc, row + j, ORDER);
      }
      for (; j < 4 * h; j += 4) {
        float in = a.getFloat(gates + j);
        float forget = a.getFloat(gates + hb + j);
        float cand = a.getFloat(gates + 2 * hb + j);
        float out = a.getFloat(gates + 3 * hb + j);
        float t = tc.getFloat(row + j);
        float dsv = ds.getFloat(row + j);
        float dcv = dc.getFloat(row + j) + dsv * out * (1f - t * t);
        dg.putFloat(gates + 3 * hb + j, dsv * t * ((1f - out) * out));
        dg.putFloat(gates + j, dcv * cand * ((1f - in) * in));
        dg.putFloat(gates + 2 * hb + j, dcv * in * (1f - cand * cand));
        if (pc != null) {
          dg.putFloat(gates + hb + j, dcv * pc.getFloat(row + j) * ((1f - forget) * forget));
          dcv *= forget;
        } else {
          dg.putFloat(gates + hb + j, 0f);
        }
        dc.putFloat(row + j, dcv);
      }
    }
  }
}
