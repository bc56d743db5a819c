package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.charsight.testing.ChildJvm;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's update against charsight's two paths: DL4J's standard path (which DL4J M2.1 takes for no network) and the
 * one pass that does the whole step, each against the "external gradient" path of a plain DL4J network.
 */
class FlatGradientUpdaterTest {
  @Test
  void theStandardPathGivesDl4jsParametersAndAdamStateBitForBit() {
    // Weight decay and a clipping threshold the gradients exceed: every part of the update runs.
    GptConfig config = config(40, 16, 0.05);
    List<byte[]> vocab = TinyModels.vocab(40, 3);
    ComputationGraph ours = TinyModels.dl4jNetwork(config, vocab);
    FlatGradientUpdater.install(ours, ours.getUpdater().getStateViewArray(), false);
    ComputationGraph dl4j = TinyModels.dl4jNetwork(config, vocab);
    assertFalse(dl4j.getUpdater() instanceof FlatGradientUpdater);
    assertArrayEquals(floats(dl4j.params()), floats(ours.params()), "the same initial parameters");

    Random rnd = new Random(5);
    DataSet batch = Batch.of(TinyModels.randomWindows(rnd, 3, 13, 40), 12, DataType.FLOAT);
    ours.setInputs(batch.getFeatures());
    ours.setLabels(batch.getLabels());
    ours.computeGradientAndScore();
    assertTrue(FlatGradientUpdater.isOwn(ours.gradient(), ours.getFlattenedGradients()),
        "a network's gradient is recognised as its own");
    assertFalse(FlatGradientUpdater.isOwn(ours.gradient(), dl4j.getFlattenedGradients()), "another's is not");

    for (int step = 0; step < 4; step++) {
      dl4j.fit(batch);
      ours.fit(batch);
    }
    assertFalse(((FlatGradientUpdater) ours.getUpdater()).onePass(), "the standard path was the one compared");
    assertSame(dl4j, ours, "after 4 steps");
    assertFalse(Arrays.equals(floats(dl4j.params()), floats(TinyModels.dl4jNetwork(config, vocab).params())),
        "training moved the parameters");
  }

  /**
   * Layers of several thousand parameters and a minibatch of 3, which divides inexactly. Every step is compared,
   * through the learning rate's warm-up and into its decay: the char arm with clipping that catches every layer,
   * some, and none; every other arm once.
   */
  @Test
  void theOnePassGivesDl4jsParametersAndAdamStateBitForBitAtEveryStep() {
    assertEquals(1, Nd4j.getEnvironment().maxThreads(), "the tests' JVM runs ND4J on one thread (pom.xml)");
    for (double clip : new double[] {0.05, 0.5, 0}) compareSteps(Arch.CHAR, clip);
    for (Arch arch : Arch.values()) if (arch != Arch.CHAR) compareSteps(arch, 0.5);
  }

  /**
   * With threads, libnd4j's norm sums each layer in chunks, which changes its last bits and so the clipping
   * factor's: the one pass has to chunk as it does. ND4J takes its thread count from OMP_NUM_THREADS at start
   * (its setMaxThreads does nothing), so each count runs in a JVM of its own.
   */
  @Test
  void theOnePassSumsTheClippingNormAsLibnd4jDoesWithThreads() throws Exception {
    for (int threads : new int[] {3, 8}) {
      ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(false, Threaded.class)).redirectErrorStream(true);
      pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the child finished");
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("compared on " + threads + " threads"), out);
    }
  }

  /** Compares the char arm's steps on ND4J's threads, and says on how many. */
  public static final class Threaded {
    public static void main(String[] args) {
      for (double clip : new double[] {0.05, 0.5}) compareSteps(Arch.CHAR, clip);
      System.out.println("compared on " + Nd4j.getEnvironment().maxThreads() + " threads");
    }
  }

  private static void compareSteps(Arch arch, double clip) {
    GptConfig config = new GptConfig(arch, 200, 12, 32, 2, 2, 0.0, 0.3, 4, 4, 6, 3e-3, 3e-4, 3, 24, 0.1, 0.9, 0.95,
        clip, 42, DataType.FLOAT, Kernels.VECTOR);
    List<byte[]> vocab = TinyModels.vocab(200, 3);
    ComputationGraph ours = TinyModels.dl4jNetwork(config, vocab);
    FlatGradientUpdater.install(ours, ours.getUpdater().getStateViewArray(), true);
    ComputationGraph dl4j = TinyModels.dl4jNetwork(config, vocab);
    Random rnd = new Random(7);
    for (int step = 0; step < 16; step++) {
      DataSet batch = Batch.of(TinyModels.randomWindows(rnd, 3, 13, 200), 12, DataType.FLOAT);
      dl4j.fit(batch);
      ours.fit(batch);
      assertTrue(((FlatGradientUpdater) ours.getUpdater()).onePass(), "the one pass ran");
      assertSame(dl4j, ours, arch + ", clip " + clip + ", step " + step);
    }
  }

  @Test
  void installedMidRunItGoesOnFromTheStateDl4jsUpdaterHad() {
    GptConfig config = config(40, 16, 0.05);
    List<byte[]> vocab = TinyModels.vocab(40, 3);
    ComputationGraph ours = TinyModels.dl4jNetwork(config, vocab);
    ComputationGraph dl4j = TinyModels.dl4jNetwork(config, vocab);
    DataSet batch = Batch.of(TinyModels.randomWindows(new Random(5), 3, 13, 40), 12, DataType.FLOAT);
    for (int step = 0; step < 3; step++) {
      dl4j.fit(batch);
      ours.fit(batch);
    }
    FlatGradientUpdater.install(ours);
    assertTrue(ours.getUpdater() instanceof FlatGradientUpdater);
    for (int step = 0; step < 3; step++) {
      dl4j.fit(batch);
      ours.fit(batch);
    }
    assertTrue(((FlatGradientUpdater) ours.getUpdater()).onePass(), "the one pass ran");
    assertSame(dl4j, ours, "after installing");
  }

  @Test
  void aLanguageModelGetsTheOnePassWhereTheVectorApiRuns() {
    LanguageModel model = LanguageModel.create(config(40, 16, 0.05), TinyModels.vocab(40, 3));
    model.graph().fit(Batch.of(TinyModels.randomWindows(new Random(5), 3, 13, 40), 12, DataType.FLOAT));
    assertTrue(Kernels.vectorApiPresent() && Kernels.cpuBackend(), "the tests run with the vector API, on the CPU");
    assertTrue(((FlatGradientUpdater) model.graph().getUpdater()).onePass());
  }

  private static GptConfig config(int vocab, int d, double clip) {
    return new GptConfig(Arch.CHAR, vocab, 12, d, 2, 2, 0.0, 0.3, 4, 4, 6, 3e-3, 3e-4, 2, 100, 0.1, 0.9, 0.95, clip,
        42, DataType.FLOAT, Kernels.VECTOR);
  }

  /** A plain DL4J network of this configuration, with DL4J's own updater. */
  private static void assertSame(ComputationGraph dl4j, ComputationGraph ours, String when) {
    assertArrayEquals(floats(dl4j.params()), floats(ours.params()), "parameters, " + when);
    assertArrayEquals(floats(dl4j.getUpdater().getStateViewArray()), floats(ours.getUpdater().getStateViewArray()),
        "Adam state, " + when);
  }

  private static float[] floats(INDArray a) {
    return a.dup().data().asFloat();
  }
}
