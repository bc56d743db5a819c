package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Output layer: logits over the vocabulary and cross-entropy against integer labels, with a
 * per-position weight so fine-tuning can train on answer tokens only. No one-hot label array is
 * ever made (at a 50k vocabulary it would be as large as the logits).
 *
 * <p>Labels are {@code [b, 2, T]}: channel 0 the next-token id, channel 1 the weight (1 = counts,
 * 0 = ignored). The loss is the sum over counted positions; DL4J divides it by the batch size.
 *
 * <p>How a weight of 0 removes a position exactly: its logits are made 0 before the loss (by
 * zeroing that row's input and bias term), so no gradient reaches the parameters through it, and
 * its loss becomes log V whatever its label; that constant is then subtracted. (ND4J M2.1's sparse cross-entropy ignores any gradient arriving from after
 * it, so weighting its output instead would silently train masked positions.)
 */
public class SparseSoftmaxLoss extends SameDiffOutputLayer {
  public long d;
  public long vocab;
  public int seqLen;
  public double initStd;

  protected SparseSoftmaxLoss() {}

  public SparseSoftmaxLoss(long d, long vocab, int seqLen, double initStd) {
    this.d = d;
    this.vocab = vocab;
    this.seqLen = seqLen;
    this.initStd = initStd;
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.recurrent(vocab, seqLen);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    // sizes are explicit fields
  }

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    return null;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addWeightParam("unembed", d, vocab);
    p.addBiasParam("unembedBias", vocab);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, initStd, Map.of());
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable in, SDVariable labels, Map<String, SDVariable> p) {
    SDVariable x = SdOps.rows(sd, in, d);                                                          // [b*T, d]
    sd.nn.softmax("probs", SdOps.dense(sd, x, p.get("unembed"), p.get("unembedBias")), 1);         // for output()
    SDVariable ids = sd.reshape(labels.get(SDIndex.all(), SDIndex.point(0), SDIndex.all()), -1).castTo(DataType.INT);
    SDVariable weight = sd.reshape(labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all()), -1, 1); // [b*T, 1]
    // Weighted logits without a second [b*T, V] array: [x*w, w] . [W; b] = w * (x W + b).
    SDVariable xw = sd.concat(1, x.mul(weight), weight);                                          // [b*T, d+1]
    SDVariable wb = sd.concat(0, p.get("unembed"), sd.reshape(p.get("unembedBias"), 1, vocab));    // [d+1, V]
    SDVariable perToken = sd.loss.sparseSoftmaxCrossEntropy(sd.mmul(xw, wb), ids);                 // [b*T]
    SDVariable ignored = weight.rsub(1.0).sum().mul(Math.log(vocab));
    SDVariable loss = perToken.sum().sub(ignored);
    // The cross-entropy op marks its own output as a loss; only the total may be one.
    sd.setLossVariables(loss);
    return loss;
  }

  @Override
  public String activationsVertexName() {
    return "probs";
  }
}
