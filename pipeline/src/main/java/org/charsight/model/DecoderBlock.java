package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One pre-LayerNorm decoder block, as in GPT-2:
 * <pre>
 *   x = x + Wo · attention(LN1(x))        causal, multi-head
 *   x = x + W2 · gelu(W1 · LN2(x))         MLP, 4x wide
 * </pre>
 * In training, dropout (if any) acts where the published model had it: on the attention weights and
 * on both projections back into the residual stream.
 * Shapes: in and out {@code [b, d, T]}; inside, one row per position {@code [b*T, d]}.
 *
 * <p>{@link #defineLayer} states the block as a SameDiff graph; the network runs {@link Impl}, the
 * same equations in plain ND4J with a hand-written backward pass (see {@link RowOps} for why), unless
 * {@link #sameDiffReference} asks for the graph (tests compare the two).
 */
public class DecoderBlock extends SameDiffLayerFix {
  public long d;
  public int heads;
  public double initStd;
  /** Std of the two projections back into the residual stream: initStd / sqrt(2 * layers). */
  public double residualStd;
  /** Dropout probability in training (the SameDiff reference has none). */
  public double dropout;

  protected DecoderBlock() {}

  public DecoderBlock(long d, int heads, int seqLen, double initStd, double residualStd, double dropout) {
    this(d, heads, seqLen, initStd, residualStd);
    if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("dropout " + dropout + " is not in [0, 1)");
    this.dropout = dropout;
  }

  public DecoderBlock(long d, int heads, int seqLen, double initStd, double residualStd) {
    if (d % heads != 0) throw new IllegalArgumentException("d_model " + d + " is not divisible by heads " + heads);
    this.d = d;
    this.heads = heads;
    this.seqLen = seqLen;
    this.initStd = initStd;
    this.residualStd = residualStd;
  }

  @Override
  protected long outputWidth() {
    return d;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addBiasParam("ln1Gain", d);
    p.addBiasParam("ln1Bias", d);
    p.addWeightParam("q", d, d);
    p.addBiasParam("qBias", d);
    p.addWeightParam("k", d, d);
    p.addBiasParam("kBias", d);
    p.addWeightParam("v", d, d);
    p.addBiasParam("vBias", d);
    p.addWeightParam("o", d, d);
    p.addBiasParam("oBias", d);
    p.addBiasParam("ln2Gain", d);
    p.addBiasParam("ln2Bias", d);
    p.addWeightParam("mlpIn", d, 4 * d);
    p.addBiasParam("mlpInBias", 4 * d);
    p.addWeightParam("mlpOut", 4 * d, d);
    p.addBiasParam("mlpOutBias", d);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    // Residual projections start smaller so the stream's variance does not grow with depth.
    SdOps.init(params, initStd, Map.of("o", residualStd, "mlpOut", residualStd));
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable in, Map<String, SDVariable> p, SDVariable mask) {
    long dh = d / heads;
    SDVariable x = SdOps.rows(sd, in, d);                                              // [b*T, d]

    SDVariable h = sd.nn.layerNorm(x, p.get("ln1Gain"), p.get("ln1Bias"), false, 1);
    SDVariable q = splitHeads(sd, SdOps.dense(sd, h, p.get("q"), p.get("qBias")), dh); // [b, H, T, dh]
    SDVariable k = splitHeads(sd, SdOps.dense(sd, h, p.get("k"), p.get("kBias")), dh);
    SDVariable v = splitHeads(sd, SdOps.dense(sd, h, p.get("v"), p.get("vBias")), dh);
    SDVariable scores = sd.mmul(q, k, false, true, false).mul(1.0 / Math.sqrt(dh));    // [b, H, T, T]
    // Adding -1e9 after position t makes softmax give later positions exactly zero weight.
    scores = scores.add(sd.constant("causalMask", SdOps.causalMask(seqLen, in.dataType())));
    SDVariable attended = sd.mmul(sd.nn.softmax(scores, 3), v);                          // [b, H, T, dh]
    SDVariable merged = sd.reshape(sd.permute(attended, 0, 2, 1, 3), -1, d);             // [b*T, d]
    x = x.add(SdOps.dense(sd, merged, p.get("o"), p.get("oBias")));

    SDVariable h2 = sd.nn.layerNorm(x, p.get("ln2Gain"), p.get("ln2Bias"), false, 1);
    SDVariable m = sd.nn.gelu(SdOps.dense(sd, h2, p.get("mlpIn"), p.get("mlpInBias"))); // [b*T, 4d]
    x = x.add(SdOps.dense(sd, m, p.get("mlpOut"), p.get("mlpOutBias")));

    return SdOps.ncw(sd, x, seqLen, d);                                                   // [b, d, T]
  }

  @Override
  protected Layer handWritten(NeuralNetConfiguration conf, DataType dataType) {
    return new Impl(conf, dataType);
  }

  /**
   * The block's equations with a hand-written backward pass. The forward pass keeps what backward
   * needs (x-hats and 1/std of both LayerNorms, q, k, v per head, the attention weights, the MLP's
   * input and pre-activation), so a training step runs it once.
   */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    private static final String[] QKV = {"q", "k", "v"};
    private RowOps ops;
    /** Whether the last forward pass drew dropout masks (kept for backward). */
    private boolean dropped;
    /** [T, T]: 0 on and below the diagonal, -1e9 above. */
    private INDArray causal;
    /** Attention in Java (model.kernels = vector), and whether the last forward pass used it. */
    private VectorAttention fused;
    private boolean fusedLast;

    /** Sizes of the current input: b sequences of t positions, n = b*t rows of width d; heads of width dh. */
    private long b;
    private long n;
    private long d;
    private long dh;
    private int t;
    private int heads;

    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    private void sizes() {
      DecoderBlock c = c();
      b = input.size(0);
      t = c.seqLen;
      n = b * t;
      d = c.d;
      heads = c.heads;
      dh = d / heads;
    }

    private DecoderBlock c() {
      return (DecoderBlock) layerConf();
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(false);
      // A dropout set on the layer acts on its input, in training (DL4J's SameDiff runtime ignored it).
      applyDropOutIfNecessary(training, workspaceMgr);
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType,
          new long[] {input.size(0), c().d, c().seqLen}, 'c');
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        RowOps.ncwOf(forward(training), out);
      }
      return out;
    }

    private INDArray forward(boolean training) {
      DecoderBlock c = c();
      dropped = training && c.dropout > 0;
      if (ops == null) ops = new RowOps(dataType, c.vectorKernels);
      sizes();
      Map<String, INDArray> p = paramTable;
      INDArray x = RowOps.rowsOf(input, ops.array("x", n, d));
      INDArray h = ops.array("h", n, d);
      ops.layerNorm(x, p.get("ln1Gain"), p.get("ln1Bias"), ops.array("xhat1", n, d), ops.array("rstd1", n, 1), h);

      INDArray merged = ops.array("merged", n, d);
      if (fusedAttention(h)) {
        INDArray[] qkv = {ops.array("qRows", n, d), ops.array("kRows", n, d), ops.array("vRows", n, d)};
        for (int i = 0; i < 3; i++) ops.dense(h, p.get(QKV[i]), p.get(QKV[i] + "Bias"), qkv[i]);
        fused.forward(qkv[0], qkv[1], qkv[2], (int) b, t, training, merged);
      } else {
        attention(h, merged);
      }
      INDArray x1 = ops.array("x1", n, d);
      ops.dense(merged, p.get("o"), p.get("oBias"), x1);
      if (dropped) x1.muli(mask("attentionOutMask", n, d));
      x1.addi(x);

      INDArray h2 = ops.array("h2", n, d);
      ops.layerNorm(x1, p.get("ln2Gain"), p.get("ln2Bias"), ops.array("xhat2", n, d), ops.array("rstd2", n, 1), h2);
      INDArray pre = ops.array("mlpPre", n, 4 * d);
      ops.dense(h2, p.get("mlpIn"), p.get("mlpInBias"), pre);
      INDArray act = ops.array("mlpAct", n, 4 * d);
      ops.gelu(pre, ops.array("geluGate", n, 4 * d), act);
      INDArray y = ops.array("y", n, d);
      ops.dense(act, p.get("mlpOut"), p.get("mlpOutBias"), y);
      if (dropped) y.muli(mask("mlpOutMask", n, d));
      return y.addi(x1);
    }

    /**
     * ND4J's path: merged = the heads' softmax(q k^T / sqrt(dh) + mask) v side by side, h = LN1(x), through
     * per-head arrays [b, H, T, dh] and batched products; dropout on the weights when the pass drops.
     */
    private void attention(INDArray h, INDArray merged) {
      Map<String, INDArray> p = paramTable;
      INDArray[] qkv = new INDArray[3];
      INDArray rows = ops.array("rows", n, d);
      for (int i = 0; i < 3; i++) {
        ops.dense(h, p.get(QKV[i]), p.get(QKV[i] + "Bias"), rows);
        qkv[i] = splitHeads(rows, ops.array(QKV[i] + "Heads", b, heads, t, dh));
      }
      INDArray attn = ops.array("attention", b, heads, t, t);                       // softmax(q k^T / sqrt(dh) + mask)
      Nd4j.matmul(qkv[0], qkv[1], attn, false, true, false);
      if (ops.vector(attn)) {
        VectorKernels.causalSoftmax(attn, t, scale());
      } else {
        INDArray scores = attn.reshape('c', b * heads, t, t);
        scores.muli(1.0 / Math.sqrt(dh)).addi(causalMask());                        // broadcast over b*H
        Nd4j.exec(new SoftMax(scores, scores, 2));
      }
      INDArray weights = dropped ? ops.array("droppedAttention", b, heads, t, t).assign(attn)
          .muli(mask("attentionMask", b, heads, t, t)) : attn;
      INDArray mixed = ops.array("mixed", b, heads, t, dh);
      Nd4j.matmul(weights, qkv[2], mixed, false, false, false);
      mergeHeads(mixed, merged);
    }

    /**
     * Whether attention runs in {@link VectorAttention}: vector kernels on float rows, and no dropout on its
     * weights (their masks are ND4J's path's). Remembered for the backward pass.
     */
    private boolean fusedAttention(INDArray h) {
      fusedLast = !dropped && ops.vector(h);
      if (fusedLast && fused == null) fused = new VectorAttention(heads, (int) dh, scale());
      return fusedLast;
    }

    /** The scores' scale, 1 / sqrt(dh), as the float ND4J's path multiplies float arrays by. */
    private float scale() {
      return (float) (1.0 / Math.sqrt(dh));
    }

    /** A fresh inverted-dropout mask under this name: 0, or 1 / keep with probability keep. */
    private INDArray mask(String name, long... shape) {
      double keep = 1 - c().dropout;
      INDArray m = ops.array(name, shape);
      Nd4j.getExecutioner().exec(new BernoulliDistribution(m, keep), Nd4j.getRandom());
      return m.muli(1.0 / keep);
    }

    /** {@code dy} times the named mask when the last forward pass dropped, else {@code dy} itself. */
    private INDArray undrop(INDArray dy, String maskName, String into) {
      if (!dropped) return dy;
      return ops.array(into, dy.shape()).assign(dy).muli(ops.array(maskName, dy.shape()));
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      sizes();
      Map<String, INDArray> p = paramTable;
      Map<String, INDArray> g = gradTable;
      INDArray dx;
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        INDArray dy = RowOps.rowsOf(epsilon, ops.array("dy", n, d));
        INDArray scratch = ops.array("scratch", n, d);

        // MLP: y = x1 + gelu(h2 Win + bin) Wout + bout
        INDArray dAct = ops.array("dAct", n, 4 * d);
        ops.denseBackward(ops.array("mlpAct", n, 4 * d), p.get("mlpOut"), undrop(dy, "mlpOutMask", "dyMasked"), g.get("mlpOut"),
            g.get("mlpOutBias"), dAct, false);
        INDArray dPre = ops.geluBackward(ops.array("mlpPre", n, 4 * d), ops.array("geluGate", n, 4 * d), dAct);
        INDArray dh2 = ops.array("dh2", n, d);
        ops.denseBackward(ops.array("h2", n, d), p.get("mlpIn"), dPre, g.get("mlpIn"), g.get("mlpInBias"), dh2, false);
        INDArray dx1 = ops.array("dx1", n, d).assign(dy);                                   // residual
        ops.layerNormBackward(dh2, p.get("ln2Gain"), ops.array("xhat2", n, d), ops.array("rstd2", n, 1),
            g.get("ln2Gain"), g.get("ln2Bias"), dx1, scratch);

        INDArray dH = attentionBackward(undrop(dx1, "attentionOutMask", "dx1Masked"));
        dx = ops.array("dx", n, d).assign(dx1);                                             // residual
        ops.layerNormBackward(dH, p.get("ln1Gain"), ops.array("xhat1", n, d), ops.array("rstd1", n, 1),
            g.get("ln1Gain"), g.get("ln1Bias"), dx, scratch);
      }
      Gradient gradient = new DefaultGradient();
      for (String name : paramTable.keySet()) gradient.gradientForVariable().put(name, g.get(name));
      INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
      RowOps.ncwOf(dx, eps);
      return new Pair<>(gradient, backpropDropOutIfPresent(eps));
    }

    /**
     * Backward of x1 = x + merge(softmax(q k^T / sqrt(dh) + mask) v) Wo + bo, from dL/d(attention
     * output): the gradients of q, k, v and o, and returned dL/dh for h = LN1(x).
     */
    private INDArray attentionBackward(INDArray dOut) {
      sizes();
      Map<String, INDArray> p = paramTable;
      Map<String, INDArray> g = gradTable;
      INDArray dMerged = ops.array("dMerged", n, d);
      ops.denseBackward(ops.array("merged", n, d), p.get("o"), dOut, g.get("o"), g.get("oBias"), dMerged, false);
      INDArray h = ops.array("h", n, d);
      INDArray dH = ops.array("dh", n, d);
      if (fusedLast) {
        INDArray[] dRows = {ops.array("dqRows", n, d), ops.array("dkRows", n, d), ops.array("dvRows", n, d)};
        fused.backward(dMerged, dRows[0], dRows[1], dRows[2]);
        for (int i = 0; i < 3; i++) {
          ops.denseBackward(h, p.get(QKV[i]), dRows[i], g.get(QKV[i]), g.get(QKV[i] + "Bias"), dH, i > 0);
        }
        return dH;
      }
      INDArray dMixed = splitHeads(dMerged, ops.array("dMixed", b, heads, t, dh));
      INDArray attn = ops.array("attention", b, heads, t, t);
      INDArray weights = dropped ? ops.array("droppedAttention", b, heads, t, t) : attn;
      INDArray dAttn = ops.array("dAttention", b, heads, t, t);
      Nd4j.matmul(dMixed, ops.array("vHeads", b, heads, t, dh), dAttn, false, true, false);
      if (dropped) dAttn.muli(ops.array("attentionMask", b, heads, t, t));
      INDArray dv = ops.array("dvHeads", b, heads, t, dh);
      Nd4j.matmul(weights, dMixed, dv, true, false, false);
      // Softmax backward per row: ds = a * (da - sum(da * a)); masked weights are 0, so are their gradients.
      if (ops.vector(dAttn, attn)) {
        VectorKernels.causalSoftmaxBackward(dAttn, attn, t, scale());
      } else {
        INDArray da = dAttn.reshape('c', b * heads * t, t);
        INDArray a = attn.reshape('c', b * heads * t, t);
        da.subiColumnVector(da.mul(a).sum(true, 1)).muli(a).muli(1.0 / Math.sqrt(dh));
      }
      INDArray dq = ops.array("dqHeads", b, heads, t, dh);
      Nd4j.matmul(dAttn, ops.array("kHeads", b, heads, t, dh), dq, false, false, false);
      INDArray dk = ops.array("dkHeads", b, heads, t, dh);
      Nd4j.matmul(dAttn, ops.array("qHeads", b, heads, t, dh), dk, true, false, false);

      INDArray dRows = ops.array("rows", n, d);
      INDArray[] dHeads = {dq, dk, dv};
      for (int i = 0; i < 3; i++) {
        INDArray rows = mergeHeads(dHeads[i], dRows);
        ops.denseBackward(h, p.get(QKV[i]), rows, g.get(QKV[i]), g.get(QKV[i] + "Bias"), dH, i > 0);
      }
      return dH;
    }

    /** rows [b*T, d] -> [b, H, T, dh], into {@code out}. */
    private INDArray splitHeads(INDArray rows, INDArray out) {
      if (Layouts.contiguousFloat(rows, out)) {
        Layouts.heads(rows, out, true);
        return out;
      }
      long[] s = out.shape();
      out.assign(rows.reshape('c', s[0], s[2], s[1], s[3]).permute(0, 2, 1, 3));
      return out;
    }

    /** [b, H, T, dh] -> rows [b*T, d], into {@code out}. */
    private static INDArray mergeHeads(INDArray heads, INDArray out) {
      if (Layouts.contiguousFloat(heads, out)) {
        Layouts.heads(out, heads, false);
        return out;
      }
      long[] s = heads.shape();
      out.reshape('c', s[0], s[2], s[1], s[3]).assign(heads.permute(0, 2, 1, 3));
      return out;
    }

    private INDArray causalMask() {
      if (causal == null) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
          causal = SdOps.causalMask(c().seqLen, dataType);
        }
      }
      return causal;
    }
  }

  /** [b*T, d] -> [b, T, H, dh] -> [b, H, T, dh] */
  private SDVariable splitHeads(SameDiff sd, SDVariable rows, long dh) {
    return sd.permute(sd.reshape(rows, -1, seqLen, heads, dh), 0, 2, 1, 3);
  }
}
