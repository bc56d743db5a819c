package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batched greedy decoding gives every prompt the answer it gets alone: on a model trained to copy
 * (so that answers are confident and varied), with prompts of every length, answers that end at
 * either of two stop tokens (as at a newline or at end-of-text), at the length limit, and past the
 * context (the window slides).
 */
class BatchedGenerationTest {

  @Test
  void batchedAnswersEqualOneAtATimeAnswers() {
    int t = LearningTest.T;
    GptConfig c = new GptConfig(Arch.CHAR, LearningTest.V, t, 32, 2, 4, 0.0, 0.02, 4, 8, 16, 3e-3, 3e-4, 20, 300, 0.0, 0.9,
        0.95, 1.0, 7, DataType.FLOAT);
    LanguageModel m = LanguageModel.create(c, TinyModels.vocab(LearningTest.V, 9));
    Random rnd = new Random(3);
    for (int step = 0; step < 300; step++) m.fit(LearningTest.copyBatch(rnd, 32));

    Random q = new Random(11);
    List<int[]> prompts = new ArrayList<>();
    List<int[]> stops = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      int[] seq = new int[t];
      seq[0] = 0;
      for (int j = 1; j <= LearningTest.N; j++) seq[j] = 2 + q.nextInt(LearningTest.V - 2);
      seq[LearningTest.N + 1] = LearningTest.SEP;
      for (int j = 0; j < LearningTest.N - 1; j++) seq[LearningTest.N + 2 + j] = seq[1 + j];
      int len = 2 + q.nextInt(t - 2); // 2 .. T-1 tokens: every length, some mid-question
      int[] prompt = new int[len];
      System.arraycopy(seq, 0, prompt, 0, len);
      prompts.add(prompt);
      // Two stop tokens per question, from its own letters, so answers end at different places.
      stops.add(new int[] {seq[1 + q.nextInt(LearningTest.N)], seq[1 + q.nextInt(LearningTest.N)]});
    }
    int maxNew = 20; // longer than the context: windows slide
    int[][] batched = m.generate(prompts.toArray(int[][]::new), maxNew,
        (row, id) -> id == stops.get(row)[0] || id == stops.get(row)[1]);
    int atFirst = 0;
    int atSecond = 0;
    int atLimit = 0;
    for (int i = 0; i < prompts.size(); i++) {
      int[] s = stops.get(i);
      int[] alone = m.generate(prompts.get(i), maxNew, id -> id == s[0] || id == s[1]);
      assertArrayEquals(alone, batched[i], "prompt " + i);
      if (i < 5) assertArrayEquals(byProbabilities(m, prompts.get(i), alone.length), alone, "prompt " + i + ": argmax of probabilities");
      int lastId = alone[alone.length - 1];
      if (alone.length == maxNew && lastId != s[0] && lastId != s[1]) atLimit++;
      else if (lastId == s[0]) atFirst++;
      else atSecond++;
    }
    assertTrue(atFirst > 0 && atSecond > 0 && atLimit > 0,
        "answers end at both stops and at the limit: " + atFirst + ", " + atSecond + ", " + atLimit);
  }

  /** Greedy decoding by its definition: the argmax of the model's next-token probabilities, step by step. */
  private static int[] byProbabilities(LanguageModel m, int[] prompt, int steps) {
    int t = LearningTest.T;
    List<Integer> seq = new ArrayList<>();
    for (int id : prompt) seq.add(id);
    int[] out = new int[steps];
    for (int k = 0; k < steps; k++) {
      int from = Math.max(0, seq.size() - t);
      float[] f = new float[t];
      for (int i = from; i < seq.size(); i++) f[i - from] = seq.get(i);
      INDArray probs = m.probabilities(Nd4j.create(f, new long[] {1, 1, t}, 'c'));
      out[k] = Nd4j.argMax(probs.getRow(seq.size() - from - 1)).getInt(0);
      seq.add(out[k]);
    }
    return out;
  }
}
