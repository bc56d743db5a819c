package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** DL4J's standard update path against the "external gradient" path DL4J M2.1 takes for every network. */
class FlatGradientUpdaterTest {
  @Test
  void theStandardPathGivesDl4jsParametersAndAdamStateBitForBit() {
    // Weight decay and a clipping threshold the gradients exceed: every part of the update runs.
    GptConfig config = new GptConfig(Arch.CHAR, 40, 12, 16, 2, 2, 0.0, 0.3, 4, 4, 6, 3e-3, 3e-4, 2, 100, 0.1, 0.9,
        0.95, 0.05, 42, DataType.FLOAT);
    List<byte[]> vocab = TinyModels.vocab(40, 3);
    LanguageModel ours = LanguageModel.create(config, vocab);
    ComputationGraph dl4j = new ComputationGraph(GptBuilder.build(config, ByteTable.of(vocab, config.maxTokenBytes())));
    dl4j.init();
    assertTrue(ours.graph().getUpdater() instanceof FlatGradientUpdater);
    assertFalse(dl4j.getUpdater() instanceof FlatGradientUpdater);
    assertArrayEquals(floats(dl4j.params()), floats(ours.graph().params()), "the same initial parameters");

    Random rnd = new Random(5);
    DataSet batch = Batch.of(TinyModels.randomWindows(rnd, 3, 13, 40), 12, DataType.FLOAT);
    ours.graph().setInputs(batch.getFeatures());
    ours.graph().setLabels(batch.getLabels());
    ours.graph().computeGradientAndScore();
    assertTrue(FlatGradientUpdater.isOwn(ours.graph().gradient(), ours.graph().getFlattenedGradients()),
        "a network's gradient is recognised as its own");
    assertFalse(FlatGradientUpdater.isOwn(ours.graph().gradient(), dl4j.getFlattenedGradients()), "another's is not");

    for (int step = 0; step < 4; step++) {
      dl4j.fit(batch);
      ours.graph().fit(batch);
    }
    assertArrayEquals(floats(dl4j.params()), floats(ours.graph().params()), "parameters");
    assertArrayEquals(floats(dl4j.getUpdater().getStateViewArray()), floats(ours.graph().getUpdater().getStateViewArray()),
        "Adam state");
    assertFalse(java.util.Arrays.equals(floats(dl4j.params()), floats(LanguageModel.create(config, vocab).graph().params())),
        "training moved the parameters");

    // Installed mid-run, it goes on from the state DL4J's updater had.
    FlatGradientUpdater.install(dl4j);
    assertTrue(dl4j.getUpdater() instanceof FlatGradientUpdater);
    for (int step = 0; step < 2; step++) {
      dl4j.fit(batch);
      ours.graph().fit(batch);
    }
    assertArrayEquals(floats(dl4j.params()), floats(ours.graph().params()), "parameters after installing");
  }

  private static float[] floats(INDArray a) {
    return a.dup().data().asFloat();
  }
}
