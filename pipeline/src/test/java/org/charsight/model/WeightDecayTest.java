package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * AdamW as configured: every weight decays at model.optim.weight_decay times the learning rate, once, the
 * token tables included (DL4J M2.1 on its own gives them twice that), and no bias or LayerNorm gain decays.
 */
class WeightDecayTest {
  private static final double WD = 0.1;
  private static final int V = 60;
  private static final int T = 12;

  private static GptConfig config(Arch arch, double weightDecay, boolean twice) {
    return new GptConfig(arch, V, T, 16, 2, 2, 0.0, 0.3, 4, 4, 6, 3e-3, 3e-4, 1, 100, weightDecay, 0.9, 0.95, 0.0, 42,
        DataType.FLOAT, Kernels.VECTOR, twice);
  }

  @ParameterizedTest
  @EnumSource(value = Arch.class, names = {"BASELINE", "CHAR", "BASELINE_MATCHED"})
  void everyLayerCarriesTheDecayOnceAndItsBiasesNone(Arch arch) {
    ComputationGraphConfiguration conf = GptBuilder.build(config(arch, WD, false), table());
    int layers = 0;
    for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
      if (!(v.getValue() instanceof LayerVertex lv)) continue;
      Layer layer = lv.getLayerConf().getLayer();
      assertEquals(List.of(new WeightDecay(WD, true)), weights(layer), v.getKey() + "'s weights");
      assertEquals(List.of(), biases(layer), v.getKey() + "'s biases");
      layers++;
    }
    assertTrue(layers >= 6, "the layers were looked at: " + layers);
  }

  /** What DL4J M2.1 does when left alone, kept for runs made before charsight undid it. */
  @Test
  void twiceKeepsDl4jsDoubledDecayOnTheTokenTablesOnly() {
    ComputationGraphConfiguration conf = GptBuilder.build(config(Arch.BASELINE_MATCHED, WD, true), table());
    for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
      if (!(v.getValue() instanceof LayerVertex lv)) continue;
      Layer layer = lv.getLayerConf().getLayer();
      int expected = layer instanceof BaseLayer ? 2 : 1;
      assertEquals(expected, weights(layer).size(), v.getKey());
    }
  }

  /**
   * One step of a model with decay against the same step without: Adam's update is the same in both, so
   * what one takes off each weight more than the other is the decay alone, lr x weight_decay x the weight
   * (times two on the token tables when {@code twice}). Measured on the parameters, through the updater that
   * trains charsight's models (one pass) and DL4J's own.
   */
  @ParameterizedTest
  @ValueSource(strings = {"one pass, once", "dl4j, once", "one pass, twice", "dl4j, twice"})
  void aStepTakesLrTimesDecayOffEveryWeight(String how) {
    boolean onePass = how.startsWith("one pass"), twice = how.endsWith("twice");
    ComputationGraph with = network(config(Arch.CHAR, WD, twice), onePass);
    ComputationGraph without = network(config(Arch.CHAR, 0.0, twice), onePass);
    assertArrayEquals(floats(with.params()), floats(without.params()), "both start from the same weights");
    Map<String, INDArray> before = new java.util.LinkedHashMap<>();
    with.paramTable().forEach((k, p) -> before.put(k, p.dup()));

    DataSet batch = Batch.of(TinyModels.randomWindows(new Random(3), 4, T + 1, V), T, DataType.FLOAT);
    with.fit(batch);
    without.fit(batch);
    assertEquals(onePass, with.getUpdater() instanceof FlatGradientUpdater f && f.onePass(), "the updater under test ran");

    double lrWd = new WarmupCosineSchedule(3e-3, 3e-4, 1, 100).valueAt(0, 0) * WD;
    List<String> decayed = new ArrayList<>();
    for (Map.Entry<String, INDArray> e : before.entrySet()) {
      String key = e.getKey();
      INDArray p0 = e.getValue();
      INDArray taken = without.getParam(key).sub(with.getParam(key));
      double factor = taken.castTo(DataType.DOUBLE).mul(p0.castTo(DataType.DOUBLE)).sumNumber().doubleValue()
          / p0.castTo(DataType.DOUBLE).mul(p0.castTo(DataType.DOUBLE)).sumNumber().doubleValue();
      String layer = key.substring(0, key.lastIndexOf('_'));
      Layer conf = with.getLayer(layer).conf().getLayer();
      if (conf.getRegularizationByParam(key.substring(key.lastIndexOf('_') + 1)).isEmpty()) {
        assertEquals(0.0, taken.amaxNumber().doubleValue(), key + ": a bias or gain does not decay");
        continue;
      }
      double expected = lrWd * (twice && key.equals("tokenEmbedding_W") ? 2 : 1);
      assertEquals(expected, factor, expected * 0.01, key + ": the share of each weight a step's decay takes");
      decayed.add(key);
    }
    assertTrue(decayed.containsAll(List.of("tokenEmbedding_W", "block0_q", "block1_mlpIn", "charEncoder_lstmInput")),
        "the token embedding, the blocks' and the char encoder's weights decay: " + decayed);
  }

  private static ComputationGraph network(GptConfig config, boolean onePass) {
    if (onePass) return LanguageModel.create(config, TinyModels.vocab(V, 5)).graph();
    return TinyModels.dl4jNetwork(config, TinyModels.vocab(V, 5));
  }

  private static ByteTable table() {
    return ByteTable.of(TinyModels.vocab(V, 5), 4);
  }

  private static List<Regularization> weights(Layer layer) {
    return layer instanceof BaseLayer b ? b.getRegularization() : ((AbstractSameDiffLayer) layer).getRegularization();
  }

  private static List<Regularization> biases(Layer layer) {
    return layer instanceof BaseLayer b ? b.getRegularizationBias() : ((AbstractSameDiffLayer) layer).getRegularizationBias();
  }

  private static float[] floats(INDArray a) {
    return a.dup().data().asFloat();
  }
}
