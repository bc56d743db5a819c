package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.charsight.common.UserError;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
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

  @Test
  void aStridedArrayIsRefused() {
    INDArray t = Nd4j.rand(DataType.FLOAT, 8, 4).transpose();
    assertThrows(IllegalArgumentException.class, () -> VectorKernels.softmaxRows(t, new float[4], new float[4], true));
  }

  @Test
  void theKeyNamesWhatIsMissing() {
    assertEquals(Kernels.VECTOR, Kernels.parseFor("model.kernels", "vector", true));
    assertEquals(Kernels.ND4J, Kernels.parseFor("model.kernels", "nd4j", false));
    UserError e = assertThrows(UserError.class, () -> Kernels.parseFor("model.kernels", "vector", false));
    assertTrue(e.getMessage().startsWith("model.kernels: vector needs the JVM option --add-modules jdk.incubator.vector"),
        e.getMessage());
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

  private static float[] floats(LanguageModel m) {
    return m.graph().params().dup().data().asFloat();
  }
}
