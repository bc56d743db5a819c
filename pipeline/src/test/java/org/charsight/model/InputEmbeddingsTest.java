package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  @Test
  void charArmsAlsoGiveTheirEncodersOwnOutputOthersNone() {
    GptConfig c = TinyModels.config(Arch.CHAR, 40, 8, 16, 2, 2, DataType.DOUBLE);
    LanguageModel m = LanguageModel.create(c, TinyModels.vocab(40, 3));
    int[] ids = {5, 39, 17};
    double[][] encoder = m.charEncoderVectors(ids);
    double[][] input = m.inputEmbeddings(ids);
    for (int i = 0; i < ids.length; i++) {
      double[] row = new double[8];
      java.util.Arrays.fill(row, ids[i]);
      INDArray full = m.graph().feedForward(new INDArray[] {Nd4j.create(row, new long[] {1, 1, 8}, 'c')}, false)
          .get(GptBuilder.CHAR_ENCODER);
      assertArrayEquals(full.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.point(0)).toDoubleVector(),
          encoder[i], 1e-12, "id " + ids[i]);
      // The encoder's output is one of the summands of the input vector, not the whole of it.
      assertTrue(java.util.Arrays.stream(encoder[i]).anyMatch(v -> v != 0), "id " + ids[i]);
      assertTrue(!java.util.Arrays.equals(encoder[i], input[i]), "id " + ids[i]);
    }
    for (Arch arch : List.of(Arch.BASELINE, Arch.BASELINE_MATCHED)) {
      GptConfig oc = TinyModels.config(arch, 40, 8, 16, 2, 2, DataType.DOUBLE);
      LanguageModel other = LanguageModel.create(oc, TinyModels.vocab(40, 3));
      assertNull(other.charEncoderVectors(ids), arch.toString());
    }
  }
}
