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
 * Adds a learned embedding per position: [b, d, T] + P[1, d, T]. Runs as {@link Impl} (plain ND4J,
 * see {@link RowOps}) unless {@link #sameDiffReference}.
 */
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
  protected Layer handWritten(NeuralNetConfiguration conf, DataType dataType) {
    return new Impl(conf, dataType);
  }

  /** x + P in plain ND4J; the gradient of P is the batch's sum of the incoming gradient. */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    private RowOps ops;

    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(false);
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, input.shape(), 'c');
      long b = input.size(0);
      out.reshape('c', b, input.length() / b).assign(input.reshape('c', b, input.length() / b))
          .addiRowVector(paramTable.get("pos").reshape('c', 1, input.length() / b));
      return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      long b = epsilon.size(0);
      if (ops == null) ops = new RowOps(dataType);
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        INDArray rows = ops.array("eps", b, epsilon.length() / b).assign(epsilon.reshape(b, epsilon.length() / b));
        ops.columnSums(rows, gradTable.get("pos"));
      }
      Gradient gradient = new DefaultGradient();
      gradient.gradientForVariable().put("pos", gradTable.get("pos"));
      return new Pair<>(gradient, workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, epsilon));
    }
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
    return x.add(p.get("pos"));
  }
}
