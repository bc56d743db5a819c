package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.charsight.common.UserError;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.ops.transforms.Transforms;

/** model.kernels = vector: the softmax kernel against ND4J's ops, and training with it against training without. */
class VectorKernelsTest {
  @Test
  void theSoftmaxKernelGivesNd4jsValuesWithinAFloatUlp() {
    // 37 columns: two full 16-lane vectors and a scalar tail; the array is a row range of a larger one (an offset).
    INDArray big = Nd4j.randn(DataType.FLOAT, 12, 37).muli(4);
    INDArray z = big.get(NDArrayIndex.interval(3, 10), NDArrayIndex.all());
    assertTrue(z.offset() > 0, "the test needs an array that starts inside its buffer");
    INDArray expected = Transforms.exp(z.dup().subiColumnVector(z.max(1).reshape(7, 1)), false);
    float[] expectedSum = expected.sum(1).toFloatVector();
    float[] expectedMax = z.max(1).toFloatVector();
    INDArray before = big.dup();

    float[] max = new float[7];
    float[] sum = new float[7];
    VectorKernels.softmaxRows(z, max, sum, false);
    assertArrayEquals(expectedMax, max, 0f);
    assertArrayEquals(expectedSum, sum, 2e-6f * 37);
    float[] got = z.dup().data().asFloat();
    float[] want = expected.data().asFloat();
    for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], Math.ulp(want[i]) * 1.01f, "element " + i);
    // Rows outside the view are untouched, to the bit.
    float[] all = big.dup().data().asFloat();
    float[] was = before.data().asFloat();
    for (int i = 0; i < 3 * 37; i++) assertEquals(was[i], all[i], 0f, "element " + i);
    for (int i = 10 * 37; i < 12 * 37; i++) assertEquals(was[i], all[i], 0f, "element " + i);

    INDArray p = z.assign(before.get(NDArrayIndex.interval(3, 10), NDArrayIndex.all()));
    VectorKernels.softmaxRows(p, max, sum, true);
    INDArray softmax = expected.diviColumnVector(expected.sum(1).reshape(7, 1));
    assertTrue(softmax.equalsWithEps(p, 1e-6), "normalised rows are the softmax");
  }

  /**
   * The output layer's fused loss kernel against the passes it replaces, one after another as the layer ran them:
   * the bias add, the label's logit, the softmax, the gradient (label minus 1 as a double, the weight), the column
   * sums. Every float must be the same bits; 37 columns for the vector tail, weights 0, 1 and fractional.
   */
  @Test
  void theFusedLossKernelGivesThePassesItReplacesToTheBit() {
    Random rnd = new Random(11);
    int n = 7, v = 37;
    INDArray big = Nd4j.randn(DataType.FLOAT, 9, v).muli(4);
    INDArray bias = Nd4j.randn(DataType.FLOAT, 1, v);
    int[] labels = new int[n];
    float[] weight = new float[n];
    for (int r = 0; r < n; r++) {
      labels[r] = rnd.nextInt(v);
      weight[r] = r % 3 == 0 ? 0f : r % 3 == 1 ? 1f : 0.37f;
    }
    int[] anyWhereZero = labels.clone();
    anyWhereZero[0] = -5; // a row of weight 0 may carry any label
    for (float[] w : new float[][] {weight, null}) {
      int[] label = w == null ? labels : anyWhereZero;
      for (boolean gradient : new boolean[] {true, false}) {
        INDArray want = big.get(NDArrayIndex.interval(1, 8), NDArrayIndex.all()).dup();
        VectorKernels.addRow(want, bias);
        float[] wantPicked = new float[n];
        for (int r = 0; r < n; r++) {
          if (w == null || w[r] != 0) wantPicked[r] = want.getFloat(r, label[r]);
        }
        float[] wantMax = new float[n], wantSum = new float[n];
        VectorKernels.softmaxRows(want, wantMax, wantSum, gradient);
        INDArray wantBias = Nd4j.zeros(DataType.FLOAT, 1, v);
        if (gradient) {
          for (int r = 0; r < n; r++) {
            if (w == null || w[r] != 0) want.putScalar(r, label[r], want.getDouble(r, label[r]) - 1);
          }
          if (w != null) want.muliColumnVector(Nd4j.createFromArray(w).reshape(n, 1));
          VectorKernels.columnSums(want, wantBias);
        }

        INDArray z = big.dup().get(NDArrayIndex.interval(1, 8), NDArrayIndex.all());
        assertTrue(z.offset() > 0, "the test needs an array that starts inside its buffer");
        float[] max = new float[n], sum = new float[n], picked = new float[n];
        INDArray biasGrad = gradient ? Nd4j.zeros(DataType.FLOAT, 1, v) : null;
        VectorKernels.softmaxLoss(z, bias, label, w, max, sum, picked, biasGrad);
        String c = (w == null ? "weights all 1" : "weights 0, 1, 0.37") + (gradient ? ", gradient" : ", loss only");
        assertArrayEquals(bits(wantMax), bits(max), c + ": max");
        assertArrayEquals(bits(wantSum), bits(sum), c + ": sum");
        assertArrayEquals(bits(wantPicked), bits(picked), c + ": the label's logit");
        assertArrayEquals(bits(want.dup().data().asFloat()), bits(z.dup().data().asFloat()), c + ": the rows");
        if (gradient) assertArrayEquals(bits(wantBias.toFloatVector()), bits(biasGrad.toFloatVector()), c + ": bias gradient");
      }
    }
  }

  private static int[] bits(float[] f) {
    int[] b = new int[f.length];
    for (int i = 0; i < f.length; i++) b[i] = Float.floatToRawIntBits(f[i]);
    return b;
  }

  @Test
  void aStridedArrayIsRefused() {
    INDArray t = Nd4j.rand(DataType.FLOAT, 8, 4).transpose();
    assertThrows(IllegalArgumentException.class, () -> VectorKernels.softmaxRows(t, new float[4], new float[4], true));
  }

  @Test
  void theKeyNamesWhatIsMissing() {
    assertEquals(Kernels.VECTOR, Kernels.parseFor("model.kernels", "vector", true, true));
    assertEquals(Kernels.ND4J, Kernels.parseFor("model.kernels", "nd4j", false, false));
    UserError e = assertThrows(UserError.class, () -> Kernels.parseFor("model.kernels", "vector", false, true));
    assertTrue(e.getMessage().startsWith(
        "model.kernels: vector needs the JVM option --add-modules jdk.incubator.vector"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("or set model.kernels=nd4j)"), e.getMessage());
    UserError gpu = assertThrows(UserError.class, () -> Kernels.parseFor("model.kernels", "vector", true, false));
    assertEquals("model.kernels: vector runs on ND4J's CPU backend only; set model.kernels=nd4j for a GPU backend",
        gpu.getMessage());
    assertTrue(Kernels.cpuBackend(), "the tests run on nd4j-native");
    UserError bad = assertThrows(UserError.class, () -> Kernels.parse("model.kernels", "simd"));
    assertEquals("model.kernels: expected nd4j or vector, got 'simd'", bad.getMessage());
  }

  @Test
  void aModelSavedBeforeTheKeyExistedReadsAsNd4j() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    var tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.valueToTree(
        TinyModels.config(Arch.BASELINE, 10, 4, 8, 1, 2, DataType.FLOAT));
    assertEquals("ND4J", tree.remove("kernels").asText());
    assertEquals(Kernels.ND4J, json.treeToValue(tree, GptConfig.class).kernels());
  }

  @Test
  void trainingWithTheVectorKernelFollowsNd4jsToTheLastBitsOnly() {
    // Answer-only weights (some positions 0) exercise the weighted gradient too.
    Random rnd = new Random(7);
    int vocab = 50;
    int t = 16;
    int[][] windows = TinyModels.randomWindows(rnd, 4, t + 1, vocab);
    float[][] weights = new float[4][t];
    for (float[] w : weights) for (int i = 0; i < t; i++) w[i] = i % 3 == 0 ? 0 : 1;
    DataSet batch = Batch.of(windows, weights, t, DataType.FLOAT);
    GptConfig nd4j = TinyModels.config(Arch.CHAR, vocab, t, 16, 2, 2, DataType.FLOAT);
    GptConfig vector = new GptConfig(nd4j.arch(), nd4j.vocab(), nd4j.context(), nd4j.dModel(), nd4j.layers(), nd4j.heads(),
        nd4j.dropout(), nd4j.initStd(), nd4j.maxTokenBytes(), nd4j.byteEmbedding(), nd4j.charHidden(), nd4j.learningRate(),
        nd4j.minLearningRate(), nd4j.warmupSteps(), nd4j.totalSteps(), nd4j.weightDecay(), nd4j.beta1(), nd4j.beta2(),
        nd4j.clipNorm(), nd4j.seed(), nd4j.dataType(), Kernels.VECTOR);
    LanguageModel a = LanguageModel.create(nd4j, TinyModels.vocab(vocab, 3));
    LanguageModel b = LanguageModel.create(vector, TinyModels.vocab(vocab, 3));
    assertArrayEquals(floats(a), floats(b), "the same initial parameters");
    double lossA = 0;
    double lossB = 0;
    for (int step = 0; step < 5; step++) {
      lossA = a.fit(batch);
      lossB = b.fit(batch);
      assertEquals(lossA, lossB, 1e-5 * lossA, "step " + step);
    }
    // INDArray.equals allows 1e-5; these compare every bit.
    assertFalse(java.util.Arrays.equals(floats(a), floats(b)), "the vector kernel ran (its last bits differ from ND4J's)");
    assertTrue(a.graph().params().equalsWithEps(b.graph().params(), 1e-5), "and only its last bits");
    LanguageModel c = LanguageModel.create(vector, TinyModels.vocab(vocab, 3));
    for (int step = 0; step < 5; step++) c.fit(batch);
    assertArrayEquals(floats(b), floats(c), "reproducible");
  }

  /**
   * Each layer with its elementwise work in the vector kernels against the same layer on ND4J's ops, in float:
   * widths of two full vectors and a tail (40), attention rows from 1 to 21 keys, with and without dropout, an LSTM
   * of 20 per gate.
   * Outputs, loss and every gradient agree to float rounding; the batch shrinks and grows as in decoding.
   */
  @Test
  void everyLayerOnTheVectorKernelsGivesNd4jsOutputsAndGradients() {
    int d = 40;
    int t = 21;
    int[][] table = ByteTable.of(TinyModels.vocab(50, 4), 9).rows();
    assertAgree(() -> new DecoderBlock(d, 2, t, 0.3, 0.3), d, t, false, 31);
    // Attention in VectorAttention: heads of 20 (a vector and a tail) above, of 16 here. With dropout, training
    // takes ND4J's attention with VectorKernels' causal softmax (both graphs draw the same masks).
    assertAgree(() -> new DecoderBlock(32, 2, t, 0.3, 0.3), 32, t, false, 34);
    assertAgree(() -> new DecoderBlock(d, 2, t, 0.3, 0.3, 0.2), d, t, false, 35);
    assertAgree(() -> new FinalLayerNorm(d, t), d, t, false, 32);
    assertAgree(() -> new CharEncoderLayer(d, t, 9, 8, 20, 0.3, table), d, t, true, 33);
  }

  private static void assertAgree(java.util.function.Supplier<SameDiffLayerFix> make, int d, int t, boolean fromTokens,
      long seed) {
    SameDiffLayerFix vector = make.get();
    vector.vectorKernels = true;
    ComputationGraph a = floatGraph(make.get(), d, t, fromTokens);
    ComputationGraph b = floatGraph(vector, d, t, fromTokens);
    // The char encoder's float path has Java passes of its own on either kernel (positions in and out): against
    // its SameDiff graph in float too.
    SameDiffLayerFix graph = make.get();
    graph.sameDiffReference = true;
    ComputationGraph c = fromTokens ? floatGraph(graph, d, t, true) : null;
    Nd4j.getRandom().setSeed(seed);
    a.params().addi(Nd4j.randn(DataType.FLOAT, a.params().shape()).muli(0.3));
    b.setParams(a.params().dup());
    if (c != null) c.setParams(a.params().dup());
    Random rnd = new Random(seed);
    String what = vector.getClass().getSimpleName();
    boolean bitsDiffer = false;
    for (int rows : new int[] {4, 2, 3}) {
      DataSet ds = Batch.of(TinyModels.randomWindows(rnd, rows, t + 1, 50), t, DataType.FLOAT);
      INDArray outA = a.feedForward(ds.getFeatures(), false).get("layer");
      INDArray outB = b.feedForward(ds.getFeatures(), false).get("layer");
      assertClose(outA, outB, 2e-6, what + ", " + rows + " rows: outputs");
      bitsDiffer |= !java.util.Arrays.equals(outA.dup().data().asFloat(), outB.dup().data().asFloat());
      if (c != null) assertClose(c.feedForward(ds.getFeatures(), false).get("layer"), outA, 2e-6, what + ", " + rows + " rows: graph's outputs");
      for (ComputationGraph g : c == null ? new ComputationGraph[] {a, b} : new ComputationGraph[] {a, b, c}) {
        Nd4j.getRandom().setSeed(seed + rows);
        g.setInputs(ds.getFeatures());
        g.setLabels(ds.getLabels());
        g.computeGradientAndScore();
      }
      assertEquals(a.score(), b.score(), 1e-6 * a.score(), what + ", " + rows + " rows: loss");
      INDArray gradA = a.gradient().gradient();
      assertTrue(gradA.amaxNumber().doubleValue() > 1e-3, "the layer has gradients");
      assertClose(gradA, b.gradient().gradient(), 2e-5, what + ", " + rows + " rows: gradients");
      if (c != null) assertClose(c.gradient().gradient(), gradA, 2e-5, what + ", " + rows + " rows: graph's gradients");
    }
    assertTrue(bitsDiffer, what + ": the vector kernels ran (their last bits differ from ND4J's)");
  }

  /** Every element within {@code relative} of the larger array's largest magnitude. */
  private static void assertClose(INDArray expected, INDArray actual, double relative, String what) {
    double scale = expected.amaxNumber().doubleValue();
    double off = expected.sub(actual).amaxNumber().doubleValue();
    assertTrue(off <= relative * scale, what + " differ by " + off + " (largest " + scale + ")");
  }

  /** tokens -> embedding [b, d, T] (or the tokens themselves) -> layer -> ND4J's loss, in float. */
  private static ComputationGraph floatGraph(SameDiffLayerFix layer, int d, int t, boolean fromTokens) {
    var g = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT).updater(new NoOp())
        .graphBuilder().addInputs("tokens");
    g.addLayer("emb", new EmbeddingSequenceLayer.Builder().nIn(50).nOut(d).inputLength(t).hasBias(false)
        .outputDataFormat(RNNFormat.NCW).build(), "tokens");
    String last = "layer";
    if (fromTokens) {
      g.addLayer("layer", layer, "tokens");
      g.addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "emb", "layer");
      last = "sum";
    } else {
      g.addLayer("layer", layer, "emb");
    }
    g.addLayer("output", new SparseSoftmaxLoss(d, 50, t, 0.5), last);
    ComputationGraph net = new ComputationGraph(g.setOutputs("output").build());
    net.init();
    return net;
  }

  /** GELU at inputs whose exp overflows float: finite values and the exact derivative, as ND4J's path gives. */
  @Test
  void theGeluKernelIsFiniteWhereExpOverflows() {
    float[] xs = new float[37];
    for (int i = 0; i < xs.length; i++) xs[i] = -90f + 5f * i;
    INDArray x = Nd4j.createFromArray(new float[][] {xs});
    RowOps vector = new RowOps(DataType.FLOAT, true);
    RowOps nd4j = new RowOps(DataType.FLOAT, false);
    INDArray gate = x.like();
    INDArray y = x.like();
    vector.gelu(x, gate, y);
    INDArray dx = vector.geluBackward(x, gate, Nd4j.ones(DataType.FLOAT, 1, xs.length));
    INDArray gate2 = x.like();
    INDArray y2 = x.like();
    nd4j.gelu(x, gate2, y2);
    INDArray dx2 = nd4j.geluBackward(x, gate2, Nd4j.ones(DataType.FLOAT, 1, xs.length));
    assertFalse(dx.isNaN().any() || dx.isInfinite().any() || y.isNaN().any(), dx.toString());
    for (int i = 0; i < xs.length; i++) {
      assertEquals(y2.getFloat(i), y.getFloat(i), 2 * Math.ulp(y2.getFloat(i)) + 1e-30f, "gelu(" + xs[i] + ")");
      assertEquals(dx2.getFloat(i), dx.getFloat(i), 2 * Math.ulp(dx2.getFloat(i)) + 1e-30f, "gelu'(" + xs[i] + ")");
    }
  }

  /** A row without variance: x-hat 0, output the bias, no gradient back, as on ND4J's path. */
  @Test
  void theLayerNormKernelGivesAConstantRowTheBias() {
    float[][] rows = new float[2][37];
    for (int c = 0; c < 37; c++) {
      rows[0][c] = 3f;
      rows[1][c] = (float) Math.sin(c);
    }
    INDArray x = Nd4j.createFromArray(rows);
    INDArray gain = Nd4j.rand(DataType.FLOAT, 1, 37).addi(0.5);
    INDArray bias = Nd4j.rand(DataType.FLOAT, 1, 37);
    RowOps ops = new RowOps(DataType.FLOAT, true);
    INDArray y = ops.array("y", 2, 37);
    ops.layerNorm(x, gain, bias, ops.array("xhat", 2, 37), ops.array("rstd", 2, 1), y);
    assertEquals(bias.getRow(0), y.getRow(0), "the constant row gives the bias");
    INDArray dx = Nd4j.zeros(DataType.FLOAT, 2, 37);
    ops.layerNormBackward(Nd4j.rand(DataType.FLOAT, 2, 37), gain, ops.array("xhat", 2, 37), ops.array("rstd", 2, 1),
        Nd4j.create(DataType.FLOAT, 1, 37), Nd4j.create(DataType.FLOAT, 1, 37), dx, ops.array("scratch", 2, 37));
    assertEquals(Nd4j.zeros(DataType.FLOAT, 37), dx.getRow(0), "no gradient through the constant row");
    assertFalse(dx.isNaN().any() || dx.isInfinite().any(), dx.toString());
  }

  private static float[] floats(LanguageModel m) {
    return m.graph().params().dup().data().asFloat();
  }
}
