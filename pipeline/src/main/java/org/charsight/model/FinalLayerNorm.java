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
import org.nd4j.linalg.factory.Nd4j;

/**
 * LayerNorm over the features of [b, d, T], before the output layer (pre-LN GPTs need it). Runs as
 * {@link Impl}, the same equation in plain ND4J ({@link RowOps}), unless {@link #sameDiffReference}.
 */
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
  protected Layer handWritten(NeuralNetConfiguration conf, DataType dataType) {
    return new Impl(conf, dataType);
  }

  /** The LayerNorm with a hand-written backward pass; the forward keeps x-hat and 1/std for it. */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    private RowOps ops;

    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(false);
      long d = ((FinalLayerNorm) layerConf()).d;
      long n = input.size(0) * input.size(2);
      if (ops == null) ops = new RowOps(dataType, ((FinalLayerNorm) layerConf()).vectorKernels);
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, input.shape(), 'c');
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        INDArray y = ops.array("y", n, d);
        ops.layerNorm(RowOps.rowsOf(input, ops.array("x", n, d)), paramTable.get("lnGain"), paramTable.get("lnBias"),
            ops.array("xhat", n, d), ops.array("rstd", n, 1), y);
        RowOps.ncwOf(y, out);
      }
      return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      long d = ((FinalLayerNorm) layerConf()).d;
      long n = input.size(0) * input.size(2);
      INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        INDArray dx = ops.array("dx", n, d).assign(0.0);
        ops.layerNormBackward(RowOps.rowsOf(epsilon, ops.array("dy", n, d)), paramTable.get("lnGain"), ops.array("xhat", n, d),
            ops.array("rstd", n, 1), gradTable.get("lnGain"), gradTable.get("lnBias"), dx, ops.array("scratch", n, d));
        RowOps.ncwOf(dx, eps);
      }
      Gradient gradient = new DefaultGradient();
      for (String name : paramTable.keySet()) gradient.gradientForVariable().put(name, gradTable.get(name));
      return new Pair<>(gradient, eps);
    }
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable in, Map<String, SDVariable> p, SDVariable mask) {
    SDVariable x = sd.nn.layerNorm(SdOps.rows(sd, in, d), p.get("lnGain"), p.get("lnBias"), false, 1);
    return SdOps.ncw(sd, x, seqLen, d);
  }
}
