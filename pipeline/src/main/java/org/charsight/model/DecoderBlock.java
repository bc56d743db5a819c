package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One pre-LayerNorm decoder block, as in GPT-2:
 * <pre>
 *   x = x + Wo · attention(LN1(x))        causal, multi-head
 *   x = x + W2 · gelu(W1 · LN2(x))         MLP, 4x wide
 * </pre>
 * Shapes: in and out {@code [b, d, T]}; inside, one row per position {@code [b*T, d]}.
 */
public class DecoderBlock extends SameDiffLayerFix {
  public long d;
  public int heads;
  public double initStd;
  /** Std of the two projections back into the residual stream: initStd / sqrt(2 * layers). */
  public double residualStd;

  protected DecoderBlock() {}

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

  /** [b*T, d] -> [b, T, H, dh] -> [b, H, T, dh] */
  private SDVariable splitHeads(SameDiff sd, SDVariable rows, long dh) {
    return sd.permute(sd.reshape(rows, -1, seqLen, heads, dh), 0, 2, 1, 3);
  }
}
