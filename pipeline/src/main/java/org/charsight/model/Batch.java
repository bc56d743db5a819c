package org.charsight.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Turns token windows into the arrays the graph takes. A window of up to T+1 tokens gives inputs
 * (its first T) and next-token labels (its last T); positions beyond a short window are padding
 * with weight 0, and a caller may zero more weights (e.g. everything but the answer).
 */
public final class Batch {
  private Batch() {}

  /** features [b, 1, T] token ids; labels [b, 2, T] (next id, weight 0 or 1). */
  public static DataSet of(int[][] windows, float[][] weights, int seqLen, DataType type) {
    int b = windows.length;
    float[] f = new float[b * seqLen];
    float[] l = new float[b * 2 * seqLen];
    for (int i = 0; i < b; i++) {
      int[] w = windows[i];
      int n = Math.min(seqLen, w.length - 1);
      for (int t = 0; t < seqLen; t++) {
        f[i * seqLen + t] = t < w.length ? w[t] : 0;
        if (t < n) {
          float weight = weights == null ? 1f : weights[i][t];
          // The output layer scales a position's logits by its weight (SparseSoftmaxLoss): only 0
          // and 1 mean "ignored" and "counted"; anything else would silently change the softmax.
          if (weight != 0f && weight != 1f) {
            throw new IllegalArgumentException("label weight must be 0 or 1, got " + weight + " at window " + i + " position " + t);
          }
          l[(i * 2) * seqLen + t] = w[t + 1];
          l[(i * 2 + 1) * seqLen + t] = weight;
        }
      }
    }
    INDArray features = Nd4j.create(f, new long[] {b, 1, seqLen}, 'c').castTo(type);
    INDArray labels = Nd4j.create(l, new long[] {b, 2, seqLen}, 'c').castTo(type);
    return new DataSet(features, labels);
  }

  public static DataSet of(int[][] windows, int seqLen, DataType type) {
    return of(windows, null, seqLen, type);
  }

  /** Positions that count in the loss. */
  public static double countedTokens(DataSet ds) {
    INDArray labels = ds.getLabels();
    return labels.get(NDArrayIndex.all(), NDArrayIndex.point(1),
        NDArrayIndex.all()).sumNumber().doubleValue();
  }
}
