package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

class ModelBehaviourTest {
  static final int V = 40;
  static final int T = 12;

  static LanguageModel model(Arch arch) {
    return LanguageModel.create(TinyModels.config(arch, V, T, 16, 2, 4, DataType.FLOAT), TinyModels.vocab(V, 5));
  }

  static INDArray features(int[] tokens) {
    float[] f = new float[tokens.length];
    for (int i = 0; i < f.length; i++) f[i] = tokens[i];
    return Nd4j.create(f, new long[] {1, 1, tokens.length}, 'c');
  }

  @ParameterizedTest
  @EnumSource(Arch.class)
  void changingLaterTokensLeavesEarlierOutputsBitIdentical(Arch arch) {
    LanguageModel m = model(arch);
    Random rnd = new Random(1);
    int[] a = TinyModels.randomWindows(rnd, 1, T, V)[0];
    INDArray pa = m.probabilities(features(a));
    for (int t : new int[] {0, 1, T / 2, T - 2}) {
      int[] b = a.clone();
      for (int i = t + 1; i < T; i++) b[i] = (a[i] + 1 + rnd.nextInt(V - 1)) % V;
      INDArray pb = m.probabilities(features(b));
      for (int i = 0; i <= t; i++) assertEquals(pa.getRow(i), pb.getRow(i), arch + ": position " + i + " after changing > " + t);
      assertNotEquals(pa.getRow(t + 1), pb.getRow(t + 1), "position t+1 does see its own new token");
    }
  }

  @ParameterizedTest
  @EnumSource(value = Arch.class, names = {"BASELINE", "CHAR"})
  void labelsWithWeightZeroChangeNeitherLossNorGradients(Arch arch) {
    LanguageModel m = model(arch);
    Random rnd = new Random(2);
    int[][] w = TinyModels.randomWindows(rnd, 4, T + 1, V);
    float[][] weights = new float[4][T];
    for (float[] row : weights) for (int t = 0; t < T; t++) row[t] = t % 3 == 0 ? 1 : 0;
    int[][] other = new int[4][];
    for (int i = 0; i < 4; i++) {
      other[i] = w[i].clone();
      for (int t = 0; t < T; t++) if (weights[i][t] == 0) other[i][t + 1] = (w[i][t + 1] + 7) % V; // label of position t
    }
    // Inputs differ too when a label is also a later input; keep inputs equal by changing labels only.
    DataSet a = Batch.of(w, weights, T, DataType.FLOAT);
    DataSet b = Batch.of(w, weights, T, DataType.FLOAT);
    DataSet changed = Batch.of(other, weights, T, DataType.FLOAT);
    b.setLabels(changed.getLabels());
    ComputationGraph g = m.graph();
    g.setInputs(a.getFeatures());
    g.setLabels(a.getLabels());
    g.computeGradientAndScore();
    double scoreA = g.score();
    Map<String, INDArray> gradA = copy(g.gradient());
    g.setInputs(b.getFeatures());
    g.setLabels(b.getLabels());
    g.computeGradientAndScore();
    assertEquals(scoreA, g.score());
    Map<String, INDArray> gradB = copy(g.gradient());
    for (String k : gradA.keySet()) assertEquals(gradA.get(k), gradB.get(k), k);

    // And the loss is the cross-entropy of the counted positions alone, summed, per sequence.
    INDArray probs = m.probabilities(a.getFeatures());
    double expected = 0;
    for (int i = 0; i < 4; i++) {
      INDArray p = m.probabilities(features(java.util.Arrays.copyOf(w[i], T)));
      for (int t = 0; t < T; t++) if (weights[i][t] == 1) expected -= Math.log(p.getDouble(t, w[i][t + 1]));
    }
    assertEquals(expected / 4, scoreA, 1e-3 * Math.abs(expected));
    assertTrue(probs.size(0) == 4L * T);
  }

  static Map<String, INDArray> copy(Gradient g) {
    Map<String, INDArray> out = new java.util.TreeMap<>();
    g.gradientForVariable().forEach((k, v) -> out.put(k, v.dup()));
    return out;
  }

  @Test
  void parameterCountsEqualTheirClosedForms() {
    for (Arch arch : Arch.values()) {
      GptConfig c = TinyModels.config(arch, 300, 16, 32, 3, 4, DataType.FLOAT);
      LanguageModel m = LanguageModel.create(c, TinyModels.vocab(300, 3));
      assertEquals(c.parameters(), m.graph().numParams(), arch.confName);
    }
    // Hand-computed baseline, V=300, T=16, d=32, L=3: embeddings 300*32 + 16*32, per block
    // 12*32^2 + 13*32 = 12704, final LN 64, output 32*300 + 300.
    assertEquals(9600 + 512 + 3 * 12704 + 64 + 9900, TinyModels.config(Arch.BASELINE, 300, 16, 32, 3, 4, DataType.FLOAT)
        .baselineParameters());
  }

  @Test
  void matchedControlIsWithinOnePercentOfTheCharArm() {
    for (int[] size : new int[][] {{300, 32}, {8192, 128}, {50257, 128}, {512, 128}}) {
      GptConfig c = new GptConfig(Arch.CHAR, size[0], 128, size[1], 4, 4, 0, 0.02, 16, 32, 128, 1e-3, 1e-4, 10, 100, 0.1,
          0.9, 0.95, 1, 1, DataType.FLOAT);
      long chars = c.parameters();
      long matched = c.withArch(Arch.BASELINE_MATCHED).parameters();
      assertTrue(Math.abs(matched - chars) <= 0.01 * chars, size[0] + ": " + matched + " vs " + chars);
    }
  }

  @ParameterizedTest
  @EnumSource(value = Arch.class, names = {"BASELINE", "CHAR_SHUFFLED"})
  void saveThenLoadGivesIdenticalOutputsAndGeneration(Arch arch, @TempDir Path dir) {
    LanguageModel m = model(arch);
    Random rnd = new Random(4);
    DataSet train = Batch.of(TinyModels.randomWindows(rnd, 8, T + 1, V), T, DataType.FLOAT);
    for (int i = 0; i < 3; i++) m.fit(train); // non-trivial weights and updater state
    File f = dir.resolve("model.zip").toFile();
    m.save(f);
    LanguageModel back = LanguageModel.load(f);
    assertEquals(m.config(), back.config());
    assertEquals(m.vocabBytes().size(), back.vocabBytes().size());
    for (int i = 0; i < V; i++) assertArrayEquals(m.vocabBytes().get(i), back.vocabBytes().get(i));
    INDArray x = train.getFeatures();
    assertEquals(m.probabilities(x), back.probabilities(x));
    assertEquals(m.graph().getUpdater().getStateViewArray(), back.graph().getUpdater().getStateViewArray());
    int[] prompt = {3, 9, 27};
    int[] g1 = m.generate(prompt, 6, id -> false);
    assertArrayEquals(g1, m.generate(prompt, 6, id -> false), "greedy decoding is deterministic");
    assertArrayEquals(g1, back.generate(prompt, 6, id -> false));
    int stopAt = g1[2];
    int[] stopped = m.generate(prompt, 6, id -> id == stopAt);
    assertTrue(stopped.length <= 3 && stopped[stopped.length - 1] == stopAt);
    // training continues identically after loading (same parameters, same updater state)
    assertEquals(m.graph().params(), back.graph().params());
    assertEquals(m.graph().getIterationCount(), back.graph().getIterationCount(), "iteration count (schedule position)");
    m.fit(train);
    back.fit(train);
    assertEquals(m.graph().params(), back.graph().params());
  }

  /**
   * The validation loss is the mean cross-entropy of the counted positions, whatever else is in
   * the batch: an answer of two counted tokens scored alone or beside a full language-model window
   * gives its own loss (DL4J's score would add weight decay divided by the counted tokens).
   */
  @Test
  void lossIsMeanCrossEntropyOfCountedTokensIndependentOfBatchmates() {
    LanguageModel m = model(Arch.CHAR);
    java.util.Random rnd = new java.util.Random(5);
    int[] answer = new int[T + 1];
    int[] window = new int[T + 1];
    for (int i = 0; i <= T; i++) {
      answer[i] = 1 + rnd.nextInt(V - 1);
      window[i] = 1 + rnd.nextInt(V - 1);
    }
    float[] answerWeights = new float[T];
    answerWeights[T - 3] = 1;
    answerWeights[T - 2] = 1;
    float[] all = new float[T];
    java.util.Arrays.fill(all, 1f);
    DataSet alone = Batch.of(new int[][] {answer}, new float[][] {answerWeights}, T, DataType.FLOAT);
    DataSet mixed = Batch.of(new int[][] {answer, window}, new float[][] {answerWeights, all}, T, DataType.FLOAT);
    DataSet lm = Batch.of(new int[][] {window}, new float[][] {all}, T, DataType.FLOAT);

    INDArray p = m.probabilities(alone.getFeatures());
    double expected = -(Math.log(p.getDouble(T - 3, answer[T - 2])) + Math.log(p.getDouble(T - 2, answer[T - 1]))) / 2;
    assertEquals(expected, m.loss(alone), 1e-5);
    assertEquals((2 * m.loss(alone) + T * m.loss(lm)) / (2 + T), m.loss(mixed), 1e-5);
    assertTrue(m.loss(alone) > 0 && m.loss(alone) < 2 * Math.log(V), "near log V for an untrained model: " + m.loss(alone));
  }

  @Test
  void aNewScheduleStartsAtTheCurrentStepAndReachesTheWorkersConfiguration() {
    LanguageModel m = model(Arch.CHAR);
    java.util.Random rnd = new java.util.Random(9);
    DataSet batch = Batch.of(TinyModels.randomWindows(rnd, 4, T + 1, V), T, DataType.FLOAT);
    for (int i = 0; i < 3; i++) m.fit(batch);
    // A zero rate freezes every parameter (Adam and the decoupled weight decay both scale with it) ...
    m.startLearningRateSchedule(0, 0, 1, 10);
    INDArray before = m.graph().params().dup();
    m.fit(batch);
    assertEquals(before, m.graph().params(), "a zero learning rate changed parameters: some layer kept its old schedule");
    // ... and a new one, starting at this step, moves them again.
    m.startLearningRateSchedule(1e-2, 1e-3, 1, 10);
    m.fit(batch);
    assertNotEquals(before, m.graph().params());
    // What a Spark trainer ships to its workers carries the same schedule.
    var workers = ComputationGraphConfiguration.fromJson(m.graph().getConfiguration().toJson());
    var expected = new WarmupCosineSchedule(1e-2, 1e-3, 1, 10, 4);
    int checked = 0;
    for (var v : workers.getVertices().values()) {
      if (!(v instanceof LayerVertex lv)) continue;
      var layer = lv.getLayerConf().getLayer();
      var u = layer instanceof BaseLayer b ? b.getIUpdater()
          : ((AbstractSameDiffLayer) layer).getUpdater();
      if (u == null || !u.hasLearningRate()) continue;
      assertEquals(expected, ((Adam) u).getLearningRateSchedule(), layer.getLayerName());
      checked++;
    }
    assertTrue(checked >= 3, "layers checked: " + checked);
  }

  @Test
  void sameSeedGivesTheSameInitialisation() {
    assertEquals(model(Arch.CHAR).graph().params(), model(Arch.CHAR).graph().params());
  }

  @Test
  void labelWeightsOtherThanZeroOrOneAreRefused() {
    int[][] w = {{1, 2, 3, 4}};
    assertEquals(2.0, Batch.countedTokens(Batch.of(w, new float[][] {{0, 1, 1}}, 3, DataType.FLOAT)), 0);
    var e = assertThrows(IllegalArgumentException.class, () -> Batch.of(w, new float[][] {{0, 0.5f, 1}}, 3, DataType.FLOAT));
    assertTrue(e.getMessage().contains("0.5"), e.getMessage());
  }
}
