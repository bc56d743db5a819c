package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The char encoder against a plain-Java LSTM written from the textbook equations: each position's
 * output must be the LSTM run over exactly its token's bytes (pads skipped, long tokens keeping
 * their last bytes), whatever else is in the batch, although the layer computes it once per
 * distinct token and without per-step masks.
 */
class CharEncoderReferenceTest {

  @Test
  void outputEqualsAPlainLstmOverEachTokensOwnBytes() {
    List<byte[]> vocab = TinyModels.vocab(30, 7);                      // 1..6 bytes; 4 are read
    GptConfig c = TinyModels.config(Arch.CHAR, vocab.size(), 8, 8, 1, 2, DataType.DOUBLE);
    LanguageModel m = LanguageModel.create(c, vocab);
    // Weights far from their tiny initial values, so that the gates are not all near 0.5.
    Random rnd = new Random(3);
    INDArray params = m.graph().params();
    for (long i = 0; i < params.length(); i++) params.putScalar(i, rnd.nextGaussian() * 0.7);

    // Repeated ids, the special token 0 (no bytes) and ids whose bytes are truncated.
    int[][] windows = {{5, 5, 0, 12, 5, 29, 12, 3, 1}, {0, 0, 17, 5, 8, 8, 8, 21, 2}};
    INDArray features = Batch.of(windows, 8, DataType.DOUBLE).getFeatures();
    INDArray out = m.graph().feedForward(new INDArray[] {features}, false).get("charEncoder");   // [b, d, T]

    Map<String, INDArray> p = m.graph().getLayer("charEncoder").paramTable();
    int[][] table = ByteTable.of(vocab, c.maxTokenBytes()).rows();
    for (int b = 0; b < windows.length; b++) {
      for (int t = 0; t < 8; t++) {
        double[] want = reference(table[windows[b][t]], p, c.charHidden(), (int) c.dModel());
        for (int k = 0; k < want.length; k++) {
          assertEquals(want[k], out.getDouble(b, k, t), 1e-10, "sequence " + b + " position " + t + " unit " + k);
        }
      }
    }
  }

  /**
   * Special tokens only: no id of the batch has a byte, so no byte step runs. The output is the projection's bias at
   * every position (the zero state's), and of the encoder only that bias takes a gradient.
   */
  @Test
  void aBatchWithoutBytesGivesTheBiasAndTrainsOnlyIt() {
    List<byte[]> vocab = TinyModels.vocab(30, 7);
    LanguageModel m = LanguageModel.create(TinyModels.config(Arch.CHAR, vocab.size(), 8, 8, 1, 2, DataType.DOUBLE), vocab);
    Random rnd = new Random(4);
    INDArray params = m.graph().params();
    for (long i = 0; i < params.length(); i++) params.putScalar(i, rnd.nextGaussian() * 0.7);
    DataSet batch = Batch.of(new int[2][9], 8, DataType.DOUBLE);                 // id 0, the special token, everywhere
    INDArray out = m.graph().feedForward(new INDArray[] {batch.getFeatures()}, false).get("charEncoder");
    INDArray bias = m.graph().getLayer("charEncoder").paramTable().get("projBias").reshape(-1);
    for (int b = 0; b < 2; b++) {
      for (int k = 0; k < bias.length(); k++) {
        for (int t = 0; t < 8; t++) assertEquals(bias.getDouble(k), out.getDouble(b, k, t), 0.0, b + " " + k + " " + t);
      }
    }
    ComputationGraph g = m.graph();
    g.setInputs(batch.getFeatures());
    g.setLabels(batch.getLabels());
    g.computeGradientAndScore();
    assertTrue(Double.isFinite(g.score()));
    Map<String, INDArray> grads = g.gradient().gradientForVariable();
    for (String name : List.of("byteEmbedding", "lstmInput", "lstmRecurrent", "lstmBias", "proj")) {
      assertEquals(0.0, grads.get("charEncoder_" + name).amaxNumber().doubleValue(), name);
    }
    assertTrue(grads.get("charEncoder_projBias").amaxNumber().doubleValue() > 1e-6, "the bias is trained");
  }

  private static double[] reference(int[] bytes, Map<String, INDArray> p, int h, int d) {
    INDArray emb = p.get("byteEmbedding");
    INDArray wIn = p.get("lstmInput");
    INDArray wRec = p.get("lstmRecurrent");
    INDArray bias = p.get("lstmBias").reshape(-1);
    double[] state = new double[h];
    double[] cell = new double[h];
    for (int byteId : bytes) {
      if (byteId == CharEncoderLayer.PAD) continue;
      double[] gates = new double[4 * h];                                  // i, f, g, o
      for (int j = 0; j < 4 * h; j++) {
        double z = bias.getDouble(j);
        for (int e = 0; e < emb.columns(); e++) z += emb.getDouble(byteId, e) * wIn.getDouble(e, j);
        for (int k = 0; k < h; k++) z += state[k] * wRec.getDouble(k, j);
        gates[j] = z;
      }
      for (int k = 0; k < h; k++) {
        double in = sigmoid(gates[k]);
        double forget = sigmoid(gates[h + k]);
        double candidate = Math.tanh(gates[2 * h + k]);
        double outGate = sigmoid(gates[3 * h + k]);
        cell[k] = forget * cell[k] + in * candidate;
        state[k] = outGate * Math.tanh(cell[k]);
      }
    }
    INDArray proj = p.get("proj");
    INDArray projBias = p.get("projBias").reshape(-1);
    double[] y = new double[d];
    for (int j = 0; j < d; j++) {
      y[j] = projBias.getDouble(j);
      for (int k = 0; k < h; k++) y[j] += state[k] * proj.getDouble(k, j);
    }
    return y;
  }

  private static double sigmoid(double x) {
    return 1 / (1 + Math.exp(-x));
  }
}
