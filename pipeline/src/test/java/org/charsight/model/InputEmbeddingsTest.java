package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.junit.jupiter.api.Test;

/** The probe's vectors are what the first block receives, whatever the arm: checked against a full forward pass. */
class InputEmbeddingsTest {

  @Test
  void eachIdsVectorIsTheFirstBlocksInputAtPositionZero() {
    for (Arch arch : List.of(Arch.BASELINE, Arch.CHAR, Arch.BASELINE_MATCHED)) {
      GptConfig c = TinyModels.config(arch, 40, 8, 16, 2, 2, DataType.DOUBLE);
      LanguageModel m = LanguageModel.create(c, TinyModels.vocab(40, 3));
      int[] ids = {5, 0, 39, 5, 17};
      double[][] got = m.inputEmbeddings(ids);
      String input = m.graph().getConfiguration().getVertexInputs().get("block0").get(0);
      for (int i = 0; i < ids.length; i++) {
        double[] row = new double[8];
        java.util.Arrays.fill(row, ids[i]);
        INDArray features = Nd4j.create(row, new long[] {1, 1, 8}, 'c');
        INDArray full = m.graph().feedForward(new INDArray[] {features}, false).get(input);
        assertArrayEquals(full.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.point(0)).toDoubleVector(), got[i],
            1e-12, arch + " id " + ids[i]);
      }
      assertArrayEquals(got[0], got[3], 0, "the same id, the same vector");
      assertEquals(16, got[0].length);
    }
  }
}
