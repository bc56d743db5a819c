package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInitDistribution;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * Numerical gradient checks in double precision: every custom layer on its own, and a whole tiny
 * network of each arch. Some label weights are 0, so the masked loss is checked too.
 */
class GradientCheckTest {
  static final int V = 13;
  static final int T = 5;
  static final int D = 8;

  @BeforeAll
  static void doubles() {
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
  }

  @AfterAll
  static void floats() {
    Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
  }

  static boolean check(ComputationGraph net, long seed) {
    // Larger weights than the 0.02 init so that every path carries signal.
    Nd4j.getRandom().setSeed(seed);
    net.params().addi(Nd4j.randn(DataType.DOUBLE, net.params().shape()).muli(0.3));
    Random rnd = new Random(seed);
    int[][] windows = TinyModels.randomWindows(rnd, 3, T + 1, V);
    float[][] weights = new float[3][T];
    for (float[] w : weights) for (int t = 0; t < T; t++) w[t] = rnd.nextInt(3) == 0 ? 0 : 1;
    DataSet ds = Batch.of(windows, weights, T, DataType.DOUBLE);
    return GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
        .net(net).inputs(new INDArray[] {ds.getFeatures()}).labels(new INDArray[] {ds.getLabels()})
        .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
        .print(GradientCheckUtil.PrintMode.FAILURES_ONLY).exitOnFirstError(false));
  }

  @ParameterizedTest
  @EnumSource(Arch.class)
  void wholeTinyNetworkOfEachArchPassesTheGradientCheck(Arch arch) {
    // Two blocks, so the composition is checked; narrow, so a full check stays affordable.
    GptConfig c = new GptConfig(arch, V, T, 4, 2, 2, 0.0, 0.02, 2, 2, 2, 1e-3, 1e-4, 1, 10, 0.0, 0.9, 0.95, 0.0, 42,
        DataType.DOUBLE);
    ByteTable table = ByteTable.of(TinyModels.vocab(V, 1), c.maxTokenBytes());
    ComputationGraph net = new ComputationGraph(GptBuilder.build(c, table, new NoOp()));
    net.init();
    assertTrue(check(net, 3), arch + " gradient check");
  }

  /** tokens -> embedding -> [layer] -> output, so each custom layer is checked on its own. */
  static ComputationGraph around(Layer layer, long inWidth, boolean fromTokens) {
    var g = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp())
        .graphBuilder().addInputs("tokens");
    g.addLayer("emb", new EmbeddingSequenceLayer.Builder().nIn(V).nOut(inWidth).inputLength(T).hasBias(false)
        .outputDataFormat(RNNFormat.NCW).weightInit(new WeightInitDistribution(new NormalDistribution(0, 0.5))).build(),
        "tokens");
    String last = "emb";
    if (fromTokens) {
      g.addLayer("layer", layer, "tokens");
      g.addVertex("sum", new org.deeplearning4j.nn.conf.graph.ElementWiseVertex(
          org.deeplearning4j.nn.conf.graph.ElementWiseVertex.Op.Add), "emb", "layer");
      last = "sum";
    } else {
      g.addLayer("layer", layer, "emb");
      last = "layer";
    }
    g.addLayer("output", new SparseSoftmaxLoss(D, V, T, 0.5), last);
    ComputationGraph net = new ComputationGraph(g.setOutputs("output").build());
    net.init();
    return net;
  }

  @Test
  void decoderBlockAloneInPassesTheGradientCheck() {
    assertTrue(check(around(new DecoderBlock(D, 2, T, 0.3, 0.3), D, false), 11));
  }

  @Test
  void positionEmbeddingAloneInPassesTheGradientCheck() {
    assertTrue(check(around(new PositionEmbedding(D, T, 0.3), D, false), 12));
  }

  @Test
  void finalLayerNormAloneInPassesTheGradientCheck() {
    assertTrue(check(around(new FinalLayerNorm(D, T), D, false), 13));
  }

  @Test
  void tokenProjectionAloneInPassesTheGradientCheck() {
    assertTrue(check(around(new TokenProjection(3, D, T, 0.3), 3, false), 14));
  }

  @Test
  void charEncoderAloneInPassesTheGradientCheck() {
    ByteTable table = ByteTable.of(TinyModels.vocab(V, 2), 3);
    assertTrue(check(around(new CharEncoderLayer(D, T, 3, 4, 4, 0.3, table.rows()), D, true), 15));
  }

  @Test
  void outputLayerAlonePassesTheGradientCheck() {
    var g = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp())
        .graphBuilder().addInputs("tokens");
    g.addLayer("emb", new EmbeddingSequenceLayer.Builder().nIn(V).nOut(D).inputLength(T).hasBias(false)
        .outputDataFormat(RNNFormat.NCW).build(), "tokens");
    g.addLayer("output", new SparseSoftmaxLoss(D, V, T, 0.5), "emb");
    ComputationGraph net = new ComputationGraph(g.setOutputs("output").build());
    net.init();
    assertTrue(check(net, 16));
  }
}
