package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The layout copies against ND4J's permuted assigns, to the bit, on sizes that are not multiples of a tile. */
class LayoutsTest {
  @Test
  void rowsAndNcwAreNd4jsPermutesExactly() {
    // A larger copy first: the thread's scratch arrays are then longer than this test's batches.
    RowOps.rowsOf(Nd4j.randn(DataType.FLOAT, 2, 64, 50), Nd4j.create(DataType.FLOAT, 100, 64));
    int b = 3;
    int d = 37;
    int t = 21;
    // A range of a larger array: the copies must start at the view's offset.
    INDArray big = Nd4j.randn(DataType.FLOAT, b + 2, d, t);
    INDArray ncw = big.get(NDArrayIndex.interval(1, 1 + b), NDArrayIndex.all(), NDArrayIndex.all());
    assertTrue(ncw.offset() > 0 && Layouts.contiguousFloat(ncw));
    INDArray rows = Nd4j.create(DataType.FLOAT, (long) b * t, d);
    RowOps.rowsOf(ncw, rows);
    INDArray expected = ncw.permute(0, 2, 1).dup('c').reshape(b * t, d);
    assertEquals(expected, rows);
    assertBits(expected, rows);

    INDArray back = Nd4j.create(DataType.FLOAT, b, d, t);
    RowOps.ncwOf(rows, back);
    assertBits(ncw.dup(), back);
  }

  @Test
  void headsAreNd4jsPermutesExactly() {
    int b = 2;
    int h = 3;
    int t = 5;
    int dh = 7;
    INDArray rows = Nd4j.randn(DataType.FLOAT, (long) b * t, h * dh);
    INDArray heads = Nd4j.create(DataType.FLOAT, b, h, t, dh);
    Layouts.heads(rows, heads, true);
    assertBits(rows.reshape('c', b, t, h, dh).permute(0, 2, 1, 3).dup('c'), heads);
    INDArray back = Nd4j.create(DataType.FLOAT, (long) b * t, h * dh);
    Layouts.heads(back, heads, false);
    assertBits(rows, back);
  }

  @Test
  void doublesAreToDoubleVectorsValues() {
    INDArray big = Nd4j.randn(DataType.FLOAT, 50, 40);
    assertArrayEquals(big.reshape(big.length()).toDoubleVector(), Layouts.doubles(big, null));
    INDArray rows = big.get(NDArrayIndex.interval(3, 9), NDArrayIndex.all());
    double[] kept = new double[2000];
    double[] got = Layouts.doubles(rows, kept);
    assertTrue(got == kept, "the array passed in is filled");
    assertArrayEquals(rows.reshape(rows.length()).toDoubleVector(), java.util.Arrays.copyOf(got, (int) rows.length()));
    INDArray strided = big.transpose();
    assertArrayEquals(strided.reshape(strided.length()).toDoubleVector(), Layouts.doubles(strided, kept));
  }

  @Test
  void onlyContiguousFloatArraysQualify() {
    assertFalse(Layouts.contiguousFloat(Nd4j.rand(DataType.DOUBLE, 4, 4)), "double");
    assertFalse(Layouts.contiguousFloat(Nd4j.rand(DataType.FLOAT, 4, 5).transpose()), "a transposed view");
    assertFalse(Layouts.contiguousFloat(Nd4j.rand(DataType.FLOAT, 4, 6).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 3))),
        "a column range");
    assertTrue(Layouts.contiguousFloat(Nd4j.rand(DataType.FLOAT, 1, 6).reshape(6)), "a rank-1 vector");
  }

  private static void assertBits(INDArray expected, INDArray actual) {
    assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()));
    float[] e = expected.dup('c').data().asFloat();
    float[] a = actual.dup('c').data().asFloat();
    for (int i = 0; i < e.length; i++) assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), "element " + i);
  }
}
