package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class RowOpsTest {
  @Test
  void aSmallerShapeIsAViewOfTheStorageAlreadyThere() {
    RowOps ops = new RowOps(DataType.FLOAT);
    INDArray big = ops.array("a", 4, 3);
    INDArray small = ops.array("a", 2, 3);
    small.putScalar(1, 2, 7f);
    assertEquals(7f, big.getFloat(1, 2), "the smaller array writes into the larger one's memory");
    assertEquals('c', small.ordering());
    assertEquals(1, small.elementWiseStride(), "contiguous");
    assertEquals(big, ops.array("a", 4, 3), "asking for the larger shape again gives the same memory");
    assertEquals(7f, ops.array("a", 4, 3).getFloat(1, 2));
    INDArray grown = ops.array("a", 5, 3);
    assertEquals(15, grown.length());
    grown.assign(1);
    assertEquals(7f, big.getFloat(1, 2), "growing moved the name to new storage and left the old alone");
  }

  @Test
  void columnSumsStayRightAsTheRowCountShrinksAndGrows() {
    RowOps ops = new RowOps(DataType.DOUBLE);
    Nd4j.getRandom().setSeed(5);
    for (int rows : new int[] {5, 3, 8, 2, 8}) {
      INDArray m = Nd4j.randn(DataType.DOUBLE, rows, 4);
      INDArray out = Nd4j.create(DataType.DOUBLE, 1, 4);
      ops.columnSums(m, out);
      assertTrue(out.equalsWithEps(m.sum(true, 0), 1e-12), rows + " rows: " + out + " vs " + m.sum(true, 0));
    }
  }

  @Test
  void aRowWithoutVarianceNormalisesToTheBiasAsNd4jsLayerNormDoes() {
    RowOps ops = new RowOps(DataType.FLOAT);
    INDArray x = Nd4j.createFromArray(new float[][] {{3f, 3f, 3f, 3f}, {1f, 2f, 3f, 4f}});
    INDArray gain = Nd4j.createFromArray(new float[][] {{1f, 2f, 3f, 4f}});
    INDArray bias = Nd4j.createFromArray(new float[][] {{0.5f, -1f, 0f, 2f}});
    INDArray y = ops.array("y", 2, 4);
    ops.layerNorm(x, gain, bias, ops.array("xhat", 2, 4), ops.array("rstd", 2, 1), y);
    INDArray expected = Nd4j.create(DataType.FLOAT, 2, 4);
    Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNorm(x, gain.reshape(4), bias.reshape(4), expected, false, 1));
    assertTrue(y.equalsWithEps(expected, 1e-5), y + " vs ND4J's " + expected);
    assertEquals(bias.getRow(0), y.getRow(0), "the constant row gives the bias");

    INDArray dx = Nd4j.zeros(DataType.FLOAT, 2, 4);
    INDArray gGain = Nd4j.create(DataType.FLOAT, 1, 4);
    INDArray gBias = Nd4j.create(DataType.FLOAT, 1, 4);
    ops.layerNormBackward(Nd4j.ones(DataType.FLOAT, 2, 4), gain, ops.array("xhat", 2, 4), ops.array("rstd", 2, 1), gGain,
        gBias, dx, ops.array("scratch", 2, 4));
    assertEquals(Nd4j.zeros(DataType.FLOAT, 4), dx.getRow(0), "no gradient through the constant row");
    assertTrue(Math.abs(dx.getRow(1).sumNumber().doubleValue()) < 1e-5 && !dx.isInfinite().any() && !dx.isNaN().any(), dx.toString());
  }
}
