package org.charsight.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Kernels over ND4J's memory with the JDK's vector API, for {@link Kernels#VECTOR}. ND4J M2.1's exp,
 * sigmoid and tanh are scalar libm calls per element (~2 ns); the vector API's are SIMD (16 floats at a
 * time with AVX-512). And each ND4J call costs 7-25 µs around its work, so where the ND4J path chains
 * five or ten elementwise calls these do the same arithmetic in one pass, in the same order, so results
 * differ from ND4J's in the last bits only (exp and friends are not bit-identical; sums run in another
 * order).
 *
 * <p>Every array is float, contiguous in 'c' order, and within the 2 GB a ByteBuffer can index: callers
 * ask {@link #fit} first and keep ND4J's path otherwise. Only load this class after
 * {@link Kernels#vectorApiPresent()}: it links against the incubator module.
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

  private static FloatVector sigmoid(FloatVector x) {
    return FloatVector.broadcast(S, 1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
  }

  private static float sigmoid(float x) {
    return 1f / (1f + (float) Math.exp(-x));
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
    for (int r = 0; r < rows; r++) {
      int row = r * cols;
      max[r] = rowMax(m, row, cols, 1f);
      sum[r] = expRow(m, row, cols, 1f, max[r]);
      if (normalise) divideRow(m, row, cols, sum[r]);
    }
  }

  /** The maximum of {@code scale * z[row .. row+cols)}. */
  private static float rowMax(Mem z, int row, int cols, float scale) {
    FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) mv = mv.max(z.load(row + c).mul(scale));
    float m = mv.reduceLanes(VectorOperators.MAX);
    for (; c < cols; c++) m = Math.max(m, z.get(row + c) * scale);
    return m;
  }

  /** z = exp(scale * z - max) over {@code [row, row+cols)}; returns their sum. */
  private static float expRow(Mem z, int row, int cols, float scale, float max) {
    FloatVector sv = FloatVector.zero(S);
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) {
      FloatVector e = z.load(row + c).mul(scale).sub(max).lanewise(VectorOperators.EXP);
      z.store(row + c, e);
      sv = sv.add(e);
    }
    float s = sv.reduceLanes(VectorOperators.ADD);
    for (; c < cols; c++) {
      float e = (float) Math.exp(z.get(row + c) * scale - max);
      z.set(row + c, e);
      s += e;
    }
    return s;
  }

  /** z /= by over {@code [row, row+cols)}: dividing, not multiplying by 1 / by, keeps ND4J's rounding. */
  private static void divideRow(Mem z, int row, int cols, float by) {
    int c = 0;
    for (int upper = S.loopBound(cols); c < upper; c += L) z.store(row + c, z.load(row + c).div(by));
    for (; c < cols; c++) z.set(row + c, z.get(row + c) / by);
  }

  /**
   * Attention weights in place: per row of {@code scores} [rows, T], row r the query at position
   * r mod T, softmax(scale * s) over keys 0..position, and 0 after it (the causal mask). ND4J's path
   * adds -1e9 there and takes exp of it, which is exactly 0 in float; this skips those keys.
   */
  static void causalSoftmax(INDArray scores, int t, float scale) {
    Mem m = Mem.of(scores);
    int rows = (int) (scores.length() / t);
    for (int r = 0; r < rows; r++) {
      int row = r * t;
      int keys = r % t + 1;
      float max = rowMax(m, row, keys, scale);
      float sum = expRow(m, row, keys, scale, max);
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
    for (int r = 0; r < rows; r++) {
      int row = r * t;
      int keys = r % t + 1;
      int upper = S.loopBound(keys);
      FloatVector dv = FloatVector.zero(S);
      int c = 0;
      for (; c < upper; c += L) dv = g.load(row + c).fma(w.load(row + c), dv);
      float dot = dv.reduceLanes(VectorOperators.ADD);
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
      FloatVector s = sigmoid(v.mul(GELU));
      mg.store(i, s);
      my.store(i, v.mul(s));
    }
    for (; i < n; i++) {
      float v = mx.get(i);
      float s = sigmoid(v * GELU);
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
    for (int r = 0; r < n; r++) {
      int row = r * d;
      FloatVector sv = FloatVector.zero(S);
      int c = 0;
      for (; c < upper; c += L) sv = sv.add(mx.load(row + c));
      float sum = sv.reduceLanes(VectorOperators.ADD);
      for (; c < d; c++) sum += mx.get(row + c);
      float mean = sum / d;
      FloatVector qv = FloatVector.zero(S);
      for (c = 0; c < upper; c += L) {
        FloatVector centred = mx.load(row + c).sub(mean);
        mh.store(row + c, centred);
        qv = centred.fma(centred, qv);
      }
      float squares = qv.reduceLanes(VectorOperators.ADD);
      for (; c < d; c++) {
        float centred = mx.get(row + c) - mean;
        mh.set(row + c, centred);
        squares += centred * centred;
      }
      float variance = squares / d;
      float inv = variance == 0f ? 0f : (float) Math.pow(variance, -0.5);
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
      float sg = gv.reduceLanes(VectorOperators.ADD);
      float sgx = gxv.reduceLanes(VectorOperators.ADD);
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
   * tanh(cell), state = o * tanhCell. The ND4J path's eleven calls in one pass.
   */
  static void lstmStep(INDArray acts, INDArray prevCell, INDArray cell, INDArray tanhCell, INDArray state) {
    Mem a = Mem.of(acts);
    Mem pc = prevCell == null ? null : Mem.of(prevCell);
    Mem mc = Mem.of(cell);
    Mem tc = Mem.of(tanhCell);
    Mem ms = Mem.of(state);
    int u = (int) acts.size(0);
    int h = (int) cell.size(1);
    int upper = S.loopBound(h);
    for (int r = 0; r < u; r++) {
      int gates = r * 4 * h;
      int row = r * h;
      int j = 0;
      for (; j < upper; j += L) {
        FloatVector in = sigmoid(a.load(gates + j));
        FloatVector forget = sigmoid(a.load(gates + h + j));
        FloatVector cand = a.load(gates + 2 * h + j).lanewise(VectorOperators.TANH);
        FloatVector out = sigmoid(a.load(gates + 3 * h + j));
        a.store(gates + j, in);
        a.store(gates + h + j, forget);
        a.store(gates + 2 * h + j, cand);
        a.store(gates + 3 * h + j, out);
        FloatVector c = in.mul(cand);
        if (pc != null) c = c.add(forget.mul(pc.load(row + j)));
        FloatVector t = c.lanewise(VectorOperators.TANH);
        mc.store(row + j, c);
        tc.store(row + j, t);
        ms.store(row + j, t.mul(out));
      }
      for (; j < h; j++) {
        float in = sigmoid(a.get(gates + j));
        float forget = sigmoid(a.get(gates + h + j));
        float cand = (float) Math.tanh(a.get(gates + 2 * h + j));
        float out = sigmoid(a.get(gates + 3 * h + j));
        a.set(gates + j, in);
        a.set(gates + h + j, forget);
        a.set(gates + 2 * h + j, cand);
        a.set(gates + 3 * h + j, out);
        float c = in * cand;
        if (pc != null) c += forget * pc.get(row + j);
        float t = (float) Math.tanh(c);
        mc.set(row + j, c);
        tc.set(row + j, t);
        ms.set(row + j, t * out);
      }
    }
  }

  /**
   * Backward of {@link #lstmStep} from dL/d state (and dL/d cell carried from the step after, in and
   * out of {@code dCell}): dL/d gate pre-activations into {@code dGates} [u, 4h], and {@code dCell}
   * becomes dL/d prevCell (f * dCell; left as is when {@code prevCell} is null, the first step).
   */
  static void lstmStepBackward(INDArray acts, INDArray tanhCell, INDArray prevCell, INDArray dState, INDArray dCell,
      INDArray dGates) {
    Mem a = Mem.of(acts);
    Mem tc = Mem.of(tanhCell);
    Mem pc = prevCell == null ? null : Mem.of(prevCell);
    Mem ds = Mem.of(dState);
    Mem dc = Mem.of(dCell);
    Mem dg = Mem.of(dGates);
    int u = (int) acts.size(0);
    int h = (int) tanhCell.size(1);
    int upper = S.loopBound(h);
    FloatVector zero = FloatVector.zero(S);
    for (int r = 0; r < u; r++) {
      int gates = r * 4 * h;
      int row = r * h;
      int j = 0;
      for (; j < upper; j += L) {
        FloatVector in = a.load(gates + j);
        FloatVector forget = a.load(gates + h + j);
        FloatVector cand = a.load(gates + 2 * h + j);
        FloatVector out = a.load(gates + 3 * h + j);
        FloatVector t = tc.load(row + j);
        FloatVector dsv = ds.load(row + j);
        FloatVector dcv = dc.load(row + j).add(dsv.mul(out).mul(t.mul(t).neg().add(1f)));
        dg.store(gates + 3 * h + j, dsv.mul(t).mul(out.neg().add(1f).mul(out)));
        dg.store(gates + j, dcv.mul(cand).mul(in.neg().add(1f).mul(in)));
        dg.store(gates + 2 * h + j, dcv.mul(in).mul(cand.mul(cand).neg().add(1f)));
        if (pc != null) {
          dg.store(gates + h + j, dcv.mul(pc.load(row + j)).mul(forget.neg().add(1f).mul(forget)));
          dcv = dcv.mul(forget);
        } else {
          dg.store(gates + h + j, zero);
        }
        dc.store(row + j, dcv);
      }
      for (; j < h; j++) {
        float in = a.get(gates + j);
        float forget = a.get(gates + h + j);
        float cand = a.get(gates + 2 * h + j);
        float out = a.get(gates + 3 * h + j);
        float t = tc.get(row + j);
        float dsv = ds.get(row + j);
        float dcv = dc.get(row + j) + dsv * out * (1f - t * t);
        dg.set(gates + 3 * h + j, dsv * t * ((1f - out) * out));
        dg.set(gates + j, dcv * cand * ((1f - in) * in));
        dg.set(gates + 2 * h + j, dcv * in * (1f - cand * cand));
        if (pc != null) {
          dg.set(gates + h + j, dcv * pc.get(row + j) * ((1f - forget) * forget));
          dcv *= forget;
        } else {
          dg.set(gates + h + j, 0f);
        }
        dc.set(row + j, dcv);
      }
    }
  }
}
