package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear map e -> d over [b, e, T]: with a second, narrow token table it forms the
 * parameter-matched control, which gets the char arm's extra parameters but no spelling.
 */
public class TokenProjection extends SameDiffLayerFix {
  public long in;
  public long d;
  public double initStd;

  protected TokenProjection() {}

  public TokenProjection(long in, long d, int seqLen, double initStd) {
    this.in = in;
    this.d = d;
    this.seqLen = seqLen;
    this.initStd = initStd;
  }

  @Override
  protected long outputWidth() {
    return d;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addWeightParam("proj", in, d);
    p.addBiasParam("projBias", d);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, initStd, Map.of());
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
    return SdOps.ncw(sd, SdOps.dense(sd, SdOps.rows(sd, x, in), p.get("proj"), p.get("projBias")), seqLen, d);
  }
}
