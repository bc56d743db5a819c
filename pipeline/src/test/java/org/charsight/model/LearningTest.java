package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Each arm must be able to learn: a tiny model drives a copy task to near-zero loss. A sequence is
 * six random tokens, a separator, and the same six again; only the copy is scored (answer-only
 * loss), and it can only be predicted by attending back to the first half.
 */
class LearningTest {
  static final int V = 24;
  static final int SEP = 1;
  static final int N = 6;
  static final int T = 2 * N + 1;

  static DataSet copyBatch(Random rnd, int b) {
    int[][] w = new int[b][T + 1];
    float[][] weights = new float[b][T];
    for (int i = 0; i < b; i++) {
      w[i][0] = 0;
      for (int j = 1; j <= N; j++) w[i][j] = 2 + rnd.nextInt(V - 2);
      w[i][N + 1] = SEP;
      for (int j = 0; j < N; j++) w[i][N + 2 + j] = w[i][1 + j];
      // position t predicts w[t + 1]: score the predictions of the copied tokens only
      for (int t = N + 1; t < T; t++) weights[i][t] = 1;
    }
    return Batch.of(w, weights, T, DataType.FLOAT);
  }

  @ParameterizedTest
  @EnumSource(Arch.class)
  void tinyModelOfEachArchLearnsToCopy(Arch arch) {
    GptConfig c = new GptConfig(arch, V, T, 32, 2, 4, 0.0, 0.02, 4, 8, 16, 3e-3, 3e-4, 20, 400, 0.0, 0.9, 0.95, 1.0,
        7, DataType.FLOAT);
    LanguageModel m = LanguageModel.create(c, TinyModels.vocab(V, 9));
    Random rnd = new Random(3);
    double first = m.loss(copyBatch(new Random(99), 64));
    for (int step = 0; step < 400; step++) m.fit(copyBatch(rnd, 32));
    double last = m.loss(copyBatch(new Random(99), 64));
    // Chance is ln(22) = 3.1 per token.
    assertTrue(first > 2.5, arch + " starts near chance: " + first);
    assertTrue(last < 0.1, arch + " learned to copy: loss " + first + " -> " + last);
  }
}
