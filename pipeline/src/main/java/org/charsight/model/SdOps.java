package org.charsight.model;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The few SameDiff idioms the layers share: layout changes, a dense map, initialisation. */
final class SdOps {
  private SdOps() {}

  /** [b, d, T] -> [b*T, d]: one row per position, so dense maps are plain 2-D matmuls. */
  static SDVariable rows(SameDiff sd, SDVariable ncw, long d) {
    return sd.reshape(sd.permute(ncw, 0, 2, 1), -1, d);
  }

  /** [b*T, d] -> [b, d, T] */
  static SDVariable ncw(SameDiff sd, SDVariable rows, int seqLen, long d) {
    return sd.permute(sd.reshape(rows, -1, seqLen, d), 0, 2, 1);
  }

  /** x [N, in] W [in, out] + b [out] */
  static SDVariable dense(SameDiff sd, SDVariable x, SDVariable w, SDVariable b) {
    SDVariable y = sd.mmul(x, w);
    return b == null ? y : y.add(b);
  }

  /**
   * Weights N(0, std) (std per parameter name where given), biases 0, LayerNorm gains 1. Uses ND4J's
   * global RNG, which DL4J seeds from the network seed before initialising, so init is reproducible.
   */
  static void init(Map<String, INDArray> params, double std, Map<String, Double> stdByName) {
    try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      for (Map.Entry<String, INDArray> e : params.entrySet()) {
        String k = e.getKey();
        INDArray a = e.getValue();
        if (k.endsWith("Gain")) {
          a.assign(1.0);
        } else if (k.endsWith("Bias")) {
          a.assign(0.0);
        } else {
          a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(stdByName.getOrDefault(k, std)));
        }
      }
    }
  }

  /** [T, T] additive mask: 0 where a position may attend (itself and earlier), -1e9 after it. */
  static INDArray causalMask(int t, DataType dt) {
    INDArray m = Nd4j.zeros(dt, t, t);
    for (int i = 0; i < t; i++) {
      for (int j = i + 1; j < t; j++) m.putScalar(i, j, -1e9);
    }
    return m;
  }
}
