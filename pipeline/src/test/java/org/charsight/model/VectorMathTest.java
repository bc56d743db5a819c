package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.charsight.testing.ChildJvm;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

class VectorMathTest {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  /** Ordinary values across exp's range, and the edges: infinities, NaN, signed zeros, the range's limits. */
  private static float[] inputs() {
    Random rnd = new Random(11);
    List<Float> xs = new ArrayList<>(List.of(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f,
        -87.3f, -87.29f, 88.3f, 88.29f, -100f, 100f, 0.625f, -0.625f, 0.6249f, 1e-30f, -1e-30f, Float.MIN_VALUE, 9f,
        -9f));
    for (int i = 0; i < 20_000; i++) xs.add((float) (rnd.nextDouble() * 180 - 90));
    for (int i = 0; i < 20_000; i++) xs.add((float) rnd.nextGaussian() * 2);
    while (xs.size() % S.length() != 0) xs.add(0.5f);
    float[] a = new float[xs.size()];
    for (int i = 0; i < a.length; i++) a[i] = xs.get(i);
    return a;
  }

  @Test
  void vectorLanesAreTheScalarFormsBits() {
    float[] x = inputs();
    float[] lanes = new float[S.length()];
    for (int i = 0; i < x.length; i += S.length()) {
      FloatVector v = FloatVector.fromArray(S, x, i);
      VectorMath.exp(v).intoArray(lanes, 0);
      for (int k = 0; k < lanes.length; k++) assertBits(VectorMath.exp(x[i + k]), lanes[k], "exp", x[i + k]);
      VectorMath.tanh(v).intoArray(lanes, 0);
      for (int k = 0; k < lanes.length; k++) assertBits(VectorMath.tanh(x[i + k]), lanes[k], "tanh", x[i + k]);
      VectorMath.sigmoid(v).intoArray(lanes, 0);
      for (int k = 0; k < lanes.length; k++) assertBits(VectorMath.sigmoid(x[i + k]), lanes[k], "sigmoid", x[i + k]);
    }
  }

  @Test
  void withinTwoUlpOfTheTrueValue() {
    for (float x : inputs()) {
      if (Float.isNaN(x)) {
        assertTrue(Float.isNaN(VectorMath.exp(x)) && Float.isNaN(VectorMath.tanh(x)), "NaN stays NaN");
        continue;
      }
      float e = (float) Math.exp(x);
      if (x >= -87.3f && x <= 88.3f) {
        assertTrue(Math.abs(VectorMath.exp(x) - e) <= 2 * Math.ulp(e),
            "exp(" + x + ") = " + VectorMath.exp(x) + ", not " + e);
      } else {
        assertEquals(x < 0 ? 0f : Float.POSITIVE_INFINITY, VectorMath.exp(x), "exp(" + x + ") past the range");
      }
      float t = (float) Math.tanh(x);
      assertTrue(Math.abs(VectorMath.tanh(x) - t) <= 2 * Math.ulp(t),
          "tanh(" + x + ") = " + VectorMath.tanh(x) + ", not " + t);
      if (x != 0) assertEquals(Math.signum(x), Math.signum(VectorMath.tanh(x)), "tanh keeps the sign of " + x);
      float s = (float) (1 / (1 + Math.exp(-x)));
      assertTrue(Math.abs(VectorMath.sigmoid(x) - s) <= 3 * Math.ulp(s) + Float.MIN_NORMAL,
          "sigmoid(" + x + ") = " + VectorMath.sigmoid(x) + ", not " + s);
    }
  }

  /**
   * A char model's loss and gradients on the vector kernels, the first time (the vector API interpreted, lane by
   * lane) and after 3,000 more passes (compiled by C2 to SIMD), in a JVM of its own with the JIT compilers this
   * one's tests turn off. With the vector API's own EXP and TANH these differed (SVML against Math.exp), and so
   * did two runs of one conf.
   */
  @Test
  void aModelsGradientsAreTheSameBitsBeforeAndAfterTheJitCompilesTheKernels() throws Exception {
    Process p = new ProcessBuilder(ChildJvm.command(true, Probe.class, "3000")).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the probe finished");
    assertEquals(0, p.exitValue(), out);
    String line = out.lines().filter(l -> l.startsWith("probe ")).findFirst()
        .orElseThrow(() -> new AssertionError(out));
    String[] parts = line.split(" ");
    assertEquals(parts[1], parts[2], "the first pass's bits against the 3,001st's: " + line);
  }

  /** Prints "probe <first pass's hash> <last pass's hash>". */
  public static final class Probe {
    public static void main(String[] args) {
      int passes = Integer.parseInt(args[0]);
      int vocab = 50;
      int t = 24;
      GptConfig base = TinyModels.config(Arch.CHAR, vocab, t, 40, 2, 2, DataType.FLOAT);
      GptConfig c = new GptConfig(base.arch(), base.vocab(), base.context(), base.dModel(), base.layers(), base.heads(),
          base.dropout(), base.initStd(), base.maxTokenBytes(), base.byteEmbedding(), 20, base.learningRate(),
          base.minLearningRate(), base.warmupSteps(), base.totalSteps(), base.weightDecay(), base.beta1(), base.beta2(),
          base.clipNorm(), base.seed(), base.dataType(), Kernels.VECTOR);
      ComputationGraph g = LanguageModel.create(c, TinyModels.vocab(vocab, 3)).graph();
      DataSet batch = Batch.of(TinyModels.randomWindows(new Random(5), 3, t + 1, vocab), t, DataType.FLOAT);
      g.setInputs(batch.getFeatures());
      g.setLabels(batch.getLabels());
      long first = pass(g);
      long last = first;
      for (int i = 0; i < passes; i++) last = pass(g);
      System.out.println("probe " + Long.toHexString(first) + " " + Long.toHexString(last));
    }

    private static long pass(ComputationGraph g) {
      g.computeGradientAndScore();
      long h = Double.doubleToRawLongBits(g.score());
      for (float f : g.gradient().gradient().dup().data().asFloat()) h = h * 31 + Float.floatToRawIntBits(f);
      return h;
    }
  }

  private static void assertBits(float expected, float actual, String what, float x) {
    assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
        what + "(" + x + "): scalar " + expected + ", lane " + actual);
  }
}
