package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/** LayerNorm over the features of [b, d, T], before the output layer (pre-LN GPTs need it). */
public class FinalLayerNorm extends SameDiffLayerFix {
  public long d;

  protected FinalLayerNorm() {}

  public FinalLayerNorm(long d, int seqLen) {
    this.d = d;
    this.seqLen = seqLen;
  }

  @Override
  protected long outputWidth() {
    return d;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addBiasParam("lnGain", d);
    p.addBiasParam("lnBias", d);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, 0, Map.of());
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable in, Map<String, SDVariable> p, SDVariable mask) {
    SDVariable x = sd.nn.layerNorm(SdOps.rows(sd, in, d), p.get("lnGain"), p.get("lnBias"), false, 1);
    return SdOps.ncw(sd, x, seqLen, d);
  }
}
