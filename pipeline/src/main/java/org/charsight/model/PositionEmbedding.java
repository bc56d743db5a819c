package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Adds a learned embedding per position: [b, d, T] + P[1, d, T]. */
public class PositionEmbedding extends SameDiffLayerFix {
  public long d;
  public double initStd;

  protected PositionEmbedding() {}

  public PositionEmbedding(long d, int seqLen, double initStd) {
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
    p.addWeightParam("pos", 1, d, seqLen);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, initStd, Map.of());
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
    return x.add(p.get("pos"));
  }
}
