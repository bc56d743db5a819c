package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layers that run hand-written ND4J (decoder block, final LayerNorm, position embedding, char
 * encoder) against their own SameDiff
 * definitions: same parameters, same batch, the same outputs, loss and gradients to double precision.
 * Gradient checks test each against finite differences; this ties them to the stated graph.
 */
class HandWrittenLayersTest {
  static final int V = GradientCheckTest.V;
  static final int T = GradientCheckTest.T;
  static final int D = GradientCheckTest.D;

  @BeforeAll
  static void doubles() {
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
  }

  @AfterAll
  static void floats() {
    Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
  }

  @Test
  void decoderBlockMatchesItsSameDiffGraph() {
    DecoderBlock reference = new DecoderBlock(D, 2, T, 0.3, 0.3);
    reference.sameDiffReference = true;
    assertSame(new DecoderBlock(D, 2, T, 0.3, 0.3), reference, 21);
  }

  @Test
  void finalLayerNormMatchesItsSameDiffGraph() {
    FinalLayerNorm reference = new FinalLayerNorm(D, T);
    reference.sameDiffReference = true;
    assertSame(new FinalLayerNorm(D, T), reference, 22);
  }

  @Test
  void positionEmbeddingMatchesItsSameDiffGraph() {
    PositionEmbedding reference = new PositionEmbedding(D, T, 0.3);
    reference.sameDiffReference = true;
    assertSame(new PositionEmbedding(D, T, 0.3), reference, 23);
  }

  @Test
  void charEncoderMatchesItsSameDiffGraph() {
    int[][] table = ByteTable.of(TinyModels.vocab(V, 2), 3).rows();
    CharEncoderLayer reference = new CharEncoderLayer(D, T, 3, 4, 4, 0.3, table);
    reference.sameDiffReference = true;
    assertSame(new CharEncoderLayer(D, T, 3, 4, 4, 0.3, table), reference, 24);
  }

  /** ND4J's gelu_derivative is NaN in float from x ~ 26 (it squares e^(1.702 x)); the hand-written one is not. */
  @Test
  void geluGradientIsExactAndFiniteForLargeInputsInFloat() {
    float[] xs = {-60f, -3f, -0.5f, 0f, 0.5f, 3f, 30f, 60f};
    INDArray x = Nd4j.createFromArray(new float[][] {xs});
    INDArray gate = x.like();
    INDArray y = x.like();
    RowOps ops = new RowOps(DataType.FLOAT);
    ops.gelu(x, gate, y);
    INDArray dx = ops.geluBackward(x, gate, Nd4j.ones(DataType.FLOAT, 1, xs.length));
    for (int i = 0; i < xs.length; i++) {
      double k = 1.702f;
      double s = 1 / (1 + Math.exp(-k * xs[i]));
      assertEquals(xs[i] * s, y.getDouble(0, i), 1e-5 * Math.max(1, Math.abs(xs[i])), "gelu(" + xs[i] + ")");
      assertEquals(s + k * xs[i] * s * (1 - s), dx.getDouble(0, i), 1e-6, "gelu'(" + xs[i] + ")");
    }
  }

  /**
   * Both networks get the same parameters and batch (some label weights 0); everything must agree,
   * also when the batch then shrinks and grows again (the hand-written layers reuse their arrays).
   */
  private static void assertSame(Layer handWritten, Layer reference, long seed) {
    // The char encoder reads token ids; the others the embeddings.
    boolean fromTokens = handWritten instanceof CharEncoderLayer;
    ComputationGraph a = GradientCheckTest.around(handWritten, D, fromTokens);
    ComputationGraph b = GradientCheckTest.around(reference, D, fromTokens);
    Nd4j.getRandom().setSeed(seed);
    a.params().addi(Nd4j.randn(DataType.DOUBLE, a.params().shape()).muli(0.3));
    b.setParams(a.params().dup());
    Random rnd = new Random(seed);
    for (int rows : new int[] {4, 2, 3}) {
      int[][] windows = TinyModels.randomWindows(rnd, rows, T + 1, V);
      float[][] weights = new float[rows][T];
      for (float[] w : weights) for (int t = 0; t < T; t++) w[t] = rnd.nextInt(3) == 0 ? 0 : 1;
      DataSet ds = Batch.of(windows, weights, T, DataType.DOUBLE);

      INDArray outA = a.feedForward(ds.getFeatures(), false).get("layer");
      INDArray outB = b.feedForward(ds.getFeatures(), false).get("layer");
      assertTrue(outA.equalsWithEps(outB, 1e-10), rows + " rows: outputs differ by " + outA.sub(outB).amaxNumber());

      for (ComputationGraph g : new ComputationGraph[] {a, b}) {
        g.setInputs(ds.getFeatures());
        g.setLabels(ds.getLabels());
        g.computeGradientAndScore();
      }
      assertEquals(b.score(), a.score(), 1e-10, rows + " rows");
      INDArray gradA = a.gradient().gradient();
      INDArray gradB = b.gradient().gradient();
      assertTrue(gradB.amaxNumber().doubleValue() > 1e-3, "the reference has gradients");
      assertTrue(gradA.equalsWithEps(gradB, 1e-9), rows + " rows: gradients differ by " + gradA.sub(gradB).amaxNumber());
    }
  }

  /**
   * Dropout where the published model has it (attention weights, attention output, MLP output): in
   * training only. DL4J's SameDiff layers never applied a layer's dropout, so model.dropout was
   * configured but off until the block was hand-written.
   */
  @Test
  void dropoutActsInTrainingOnly() {
    LanguageModel m = LanguageModel.create(config(0.5), TinyModels.vocab(V, 1));
    INDArray features = Batch.of(TinyModels.randomWindows(new Random(5), 2, T + 1, V), T, DataType.DOUBLE).getFeatures();
    INDArray train1 = m.graph().feedForward(features, true).get("block0");
    INDArray train2 = m.graph().feedForward(features, true).get("block0");
    INDArray test1 = m.graph().feedForward(features, false).get("block0");
    INDArray test2 = m.graph().feedForward(features, false).get("block0");
    assertFalse(train1.equalsWithEps(train2, 1e-6), "two training passes draw different masks");
    assertFalse(train1.equalsWithEps(test1, 1e-6), "training differs from inference");
    assertTrue(test1.equals(test2), "inference is deterministic");
  }

  /**
   * The backward pass through the dropout masks, by finite differences: with the random generator
   * reseeded before every pass, each pass draws the same masks, so the loss is a fixed function of
   * the parameters. (DL4J's gradient checker refuses networks with dropout.)
   */
  @Test
  void gradientsWithDropoutMatchFiniteDifferences() {
    LanguageModel m = LanguageModel.create(config(0.3), TinyModels.vocab(V, 1));
    ComputationGraph g = m.graph();
    Nd4j.getRandom().setSeed(8);
    g.params().addi(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.3));
    DataSet ds = Batch.of(TinyModels.randomWindows(new Random(8), 3, T + 1, V), T, DataType.DOUBLE);
    g.setInputs(ds.getFeatures());
    g.setLabels(ds.getLabels());
    Nd4j.getRandom().setSeed(99);
    g.computeGradientAndScore();
    INDArray analytic = g.gradient().gradient().dup();
    INDArray params = g.params();
    Random pick = new Random(8);
    int checked = 0;
    for (int k = 0; k < 60; k++) {
      long i = pick.nextInt((int) params.length());
      double was = params.getDouble(i);
      double[] scores = new double[2];
      for (int side = 0; side < 2; side++) {
        params.putScalar(i, was + (side == 0 ? 1e-6 : -1e-6));
        Nd4j.getRandom().setSeed(99);
        g.computeGradientAndScore();
        scores[side] = g.score();
      }
      params.putScalar(i, was);
      double numeric = (scores[0] - scores[1]) / 2e-6 * ds.getFeatures().size(0); // score is per sequence
      double a = analytic.getDouble(i);
      if (Math.abs(a) + Math.abs(numeric) < 1e-8) continue;
      checked++;
      assertEquals(numeric, a, 1e-5 + 1e-4 * Math.abs(numeric), "parameter " + i);
    }
    assertTrue(checked > 30, "checked " + checked + " parameters with gradients");
  }

  private static GptConfig config(double dropout) {
    return new GptConfig(Arch.BASELINE, V, T, D, 2, 2, dropout, 0.3, 2, 2, 2, 1e-3, 1e-4, 1, 10, 0.0, 0.9, 0.95, 0.0, 5,
        DataType.DOUBLE);
  }
}
