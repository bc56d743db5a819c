package org.charsight.model;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Base of charsight's SameDiff layers; works around two DL4J 1.0.0-M2.1 defects.
 *
 * <ol>
 *   <li>Every {@code SameDiffLayer} back-propagates twice the incoming gradient (the external-errors
 *       function both registers and returns it, and the two are added), compounding 2x per layer
 *       below the output. We halve epsilon on the way in; gradient checks confirm the result.
 *   <li>When one graph input feeds an {@code EmbeddingSequenceLayer} (null epsilon) and another
 *       layer, DL4J adds the epsilons and hits a null. Layers whose input is token ids have no
 *       gradient to give anyway, so they return null too ({@link #inputIsIndices()}).
 * </ol>
 *
 * <p>Layer and parameter names never contain '_': DL4J joins them as {@code layer_param} and
 * splits at the first underscore when it maps gradients to layers.
 *
 * <p>All layers here work on DL4J's recurrent layout {@code [batch, features, time]} with a fixed
 * sequence length, so their output type is always {@code recurrent(width, seqLen)}.
 */
public abstract class SameDiffLayerFix extends SameDiffLayer {
  /** Sequence length every layer is built for (the causal mask is a constant of this size). */
  public int seqLen;
  /** Run the SameDiff graph even where the layer has a hand-written runtime: a reference for tests. */
  public boolean sameDiffReference;
  /**
   * model.kernels = vector: the hand-written runtime's elementwise chains run in {@link VectorKernels}. Kept
   * in the saved configuration (absent, in models saved before it existed, reads as false: ND4J's ops).
   */
  public boolean vectorKernels;

  protected SameDiffLayerFix() {}

  /** True when the input is integer ids: no gradient flows to it. */
  public boolean inputIsIndices() {
    return false;
  }

  /** Width of this layer's output, the {@code features} axis. */
  protected abstract long outputWidth();

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.recurrent(outputWidth(), seqLen);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    // sizes are explicit fields; nothing is inferred
  }

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    return null;
  }

  /**
   * The layer's hand-written runtime (its {@link #defineLayer} equations in plain ND4J, with their
   * backward pass), or null to run the SameDiff graph through {@link Impl}.
   */
  protected Layer handWritten(NeuralNetConfiguration conf, DataType dataType) {
    return null;
  }

  @Override
  public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
      INDArray paramsView, boolean initializeParams, DataType dataType) {
    Layer runtime = sameDiffReference ? null : handWritten(conf, dataType);
    return wire(runtime != null ? runtime : new Impl(conf, dataType), conf, layerIndex, paramsView,
        initializer().init(conf, paramsView, initializeParams));
  }

  /** What DL4J's own instantiate does to a new runtime layer: its index, parameter views and conf. */
  static Layer wire(Layer layer, NeuralNetConfiguration conf, int index, INDArray paramsView, Map<String, INDArray> params) {
    layer.setIndex(index);
    layer.setParamsViewArray(paramsView);
    layer.setParamTable(params);
    layer.setConf(conf);
    return layer;
  }

  /** The runtime layer with the two fixes. */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      Pair<Gradient, INDArray> p = super.backpropGradient(epsilon.mul(0.5), workspaceMgr);
      return ((SameDiffLayerFix) layerConf()).inputIsIndices() ? new Pair<>(p.getFirst(), null) : p;
    }
  }
}
