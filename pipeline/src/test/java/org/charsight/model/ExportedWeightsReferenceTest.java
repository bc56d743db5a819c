package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.charsight.common.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A second implementation of the baseline GPT, written from the equations and the facts the
 * export's manifest states (layouts, GELU's formula, LayerNorm's epsilon), fed only the exported
 * .npy files: its next-token probabilities must equal the DL4J model's.
 */
class ExportedWeightsReferenceTest {
  static final int V = 30;
  static final int T = 8;
  static final int D = 16;
  static final int H = 2;
  static final int LAYERS = 2;

  @Test
  void aPlainJavaModelFromTheExportGivesTheSameProbabilities(@TempDir Path dir) throws Exception {
    LanguageModel m = LanguageModel.create(TinyModels.config(Arch.BASELINE, V, T, D, LAYERS, H, DataType.FLOAT),
        TinyModels.vocab(V, 1));
    // Every parameter random, LayerNorm gains and all biases included, so that each one matters.
    Nd4j.getRandom().setSeed(7);
    m.graph().setParams(Nd4j.randn(DataType.FLOAT, 1, m.graph().numParams()).muli(0.3));
    WeightsExport.run(m, dir.resolve("w").toString(), false, new Configuration());
    JsonNode manifest = Manifest.json().readTree(dir.resolve("w/manifest.json").toFile());
    assertEquals("x * sigmoid(1.702 * x)", manifest.at("/activation/formula").asText());
    assertEquals(0.0, manifest.at("/layer_norm/epsilon").asDouble());
    Map<String, float[]> w = new HashMap<>();
    manifest.get("tensors").fields().forEachRemaining(e -> {
      long[] shape = new long[e.getValue().get("shape").size()];
      for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().get("shape").get(i).asLong();
      try {
        w.put(e.getKey(), WeightsExportTest.readNpy(dir.resolve("w").resolve(e.getValue().get("file").asText()), shape));
      } catch (Exception x) {
        throw new AssertionError(e.getKey(), x);
      }
    });

    Random rnd = new Random(3);
    int[][] windows = TinyModels.randomWindows(rnd, 3, T + 1, V);
    INDArray probs = m.probabilities(Batch.of(windows, T, DataType.FLOAT).getFeatures());
    for (int b = 0; b < windows.length; b++) {
      double[][] ref = forward(w, windows[b]);
      for (int t = 0; t < T; t++) {
        for (int v = 0; v < V; v++) {
          assertEquals(ref[t][v], probs.getDouble(b * T + t, v), 2e-5, "window " + b + ", position " + t + ", token " + v);
        }
      }
    }
  }

  /** Next-token probabilities [T][V] for one window's first T tokens. */
  static double[][] forward(Map<String, float[]> w, int[] tokens) {
    double[][] x = new double[T][D];
    float[] emb = w.get("tokenEmbedding_W"); // [V, D]
    float[] pos = w.get("positionEmbedding_pos"); // [1, D, T]
    for (int t = 0; t < T; t++) for (int j = 0; j < D; j++) x[t][j] = emb[tokens[t] * D + j] + pos[j * T + t];
    for (int l = 0; l < LAYERS; l++) {
      String p = "block" + l + "_";
      double[][] h = layerNorm(x, w.get(p + "ln1Gain"), w.get(p + "ln1Bias"));
      double[][] attended = attention(dense(h, w.get(p + "q"), w.get(p + "qBias"), D), dense(h, w.get(p + "k"),
          w.get(p + "kBias"), D), dense(h, w.get(p + "v"), w.get(p + "vBias"), D));
      add(x, dense(attended, w.get(p + "o"), w.get(p + "oBias"), D));
      double[][] m = dense(layerNorm(x, w.get(p + "ln2Gain"), w.get(p + "ln2Bias")), w.get(p + "mlpIn"),
          w.get(p + "mlpInBias"), 4 * D);
      for (double[] row : m) for (int j = 0; j < row.length; j++) row[j] = row[j] / (1 + Math.exp(-1.702 * row[j]));
      add(x, dense(m, w.get(p + "mlpOut"), w.get(p + "mlpOutBias"), D));
    }
    double[][] logits = dense(layerNorm(x, w.get("finalNorm_lnGain"), w.get("finalNorm_lnBias")), w.get("output_unembed"),
        w.get("output_unembedBias"), V);
    for (double[] row : logits) softmax(row);
    return logits;
  }

  /** Causal multi-head attention; head h reads columns h*dh .. (h+1)*dh - 1. */
  static double[][] attention(double[][] q, double[][] k, double[][] v) {
    int dh = D / H;
    double[][] out = new double[T][D];
    for (int h = 0; h < H; h++) {
      for (int t = 0; t < T; t++) {
        double[] s = new double[t + 1];
        for (int u = 0; u <= t; u++) {
          for (int j = h * dh; j < (h + 1) * dh; j++) s[u] += q[t][j] * k[u][j];
          s[u] /= Math.sqrt(dh);
        }
        softmax(s);
        for (int u = 0; u <= t; u++) for (int j = h * dh; j < (h + 1) * dh; j++) out[t][j] += s[u] * v[u][j];
      }
    }
    return out;
  }

  /** (x - mean) / std * gain + bias per row, std over the row with divisor D and no epsilon. */
  static double[][] layerNorm(double[][] x, float[] gain, float[] bias) {
    double[][] out = new double[x.length][D];
    for (int t = 0; t < x.length; t++) {
      double mean = 0;
      for (double v : x[t]) mean += v / D;
      double var = 0;
      for (double v : x[t]) var += (v - mean) * (v - mean) / D;
      for (int j = 0; j < D; j++) out[t][j] = (x[t][j] - mean) / Math.sqrt(var) * gain[j] + bias[j];
    }
    return out;
  }

  /** x W + b with W stored [in, out] row-major. */
  static double[][] dense(double[][] x, float[] wt, float[] b, int outWidth) {
    int in = x[0].length;
    double[][] y = new double[x.length][outWidth];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < outWidth; o++) {
        double s = b[o];
        for (int i = 0; i < in; i++) s += x[t][i] * wt[i * outWidth + o];
        y[t][o] = s;
      }
    }
    return y;
  }

  static void add(double[][] x, double[][] y) {
    for (int t = 0; t < x.length; t++) for (int j = 0; j < x[t].length; j++) x[t][j] += y[t][j];
  }

  static void softmax(double[] s) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : s) max = Math.max(max, v);
    double sum = 0;
    for (int i = 0; i < s.length; i++) sum += s[i] = Math.exp(s[i] - max);
    for (int i = 0; i < s.length; i++) s[i] /= sum;
  }
}
