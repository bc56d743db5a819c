package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.charsight.testing.SparkTestSession;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.util.SparkUtils;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;

class Nd4jKryoRegistratorTest {
  private static final ClassTag<Object> ANY = scala.reflect.ClassTag$.MODULE$.apply(Object.class);

  private static SerializerInstance kryo() {
    return new KryoSerializer(new SparkConf().set("spark.kryo.registrator", Nd4jKryoRegistrator.class.getName()))
        .newInstance();
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(T value) {
    SerializerInstance k = kryo();
    ByteBuffer bytes = k.serialize(value, ANY);
    return (T) k.deserialize(bytes, ANY);
  }

  @Test
  void arraysComeBackEqualWhateverTheirTypeLayoutOrShape() {
    Nd4j.getRandom().setSeed(3);
    INDArray matrix = Nd4j.rand(DataType.FLOAT, 7, 5);
    List<INDArray> arrays = List.of(
        matrix,
        Nd4j.rand(DataType.DOUBLE, 3, 4, 5),
        Nd4j.createFromArray(new int[] {1, -2, 3, Integer.MAX_VALUE}),
        Nd4j.createFromArray(new long[] {Long.MIN_VALUE, 0, 9}),
        matrix.getColumn(2),                 // a strided view
        matrix.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 5)), // a view at an offset
        Nd4j.rand(DataType.FLOAT, 'f', 4, 6), // Fortran order
        Nd4j.scalar(2.5f),
        Nd4j.create(DataType.FLOAT, 0, 3),
        Nd4j.rand(DataType.FLOAT, 1, 300_000)); // longer than one copy chunk
    for (INDArray a : arrays) {
      INDArray back = roundTrip(a);
      assertEquals(a.dataType(), back.dataType(), a.shapeInfoToString());
      assertArrayEquals(a.shape(), back.shape(), a.shapeInfoToString());
      assertEquals(a, back, a.shapeInfoToString());
    }
  }

  @Test
  void minibatchesAndTheTrainersBroadcastSurvive() {
    INDArray features = Nd4j.rand(DataType.FLOAT, 2, 1, 6);
    INDArray labels = Nd4j.rand(DataType.FLOAT, 2, 1, 6);
    INDArray mask = Nd4j.createFromArray(new float[][] {{1, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1}});
    DataSet ds = new DataSet(features, labels, null, mask);
    DataSet back = roundTrip(ds);
    assertEquals(features, back.getFeatures());
    assertEquals(labels, back.getLabels());
    assertEquals(mask, back.getLabelsMaskArray());

    var model = org.charsight.model.LanguageModel.create(
        new org.charsight.model.GptConfig(org.charsight.model.Arch.CHAR, 40, 8, 16, 2, 4, 0.0, 0.02, 4, 4, 6, 3e-3, 3e-4, 20,
            2000, 0.0, 0.9, 0.95, 0.0, 42, DataType.FLOAT),
        java.util.stream.IntStream.range(0, 40).mapToObj(i -> i == 0 ? new byte[0] : new byte[] {(byte) ('a' + i % 26)})
            .toList());
    var g = model.graph();
    // Workers continue the learning-rate schedule from the step count the configuration carries.
    g.getConfiguration().setIterationCount(37);
    g.getConfiguration().setEpochCount(2);
    NetBroadcastTuple tuple = new NetBroadcastTuple(g.getConfiguration(), g.params(), g.getUpdater().getStateViewArray());
    NetBroadcastTuple t = roundTrip(tuple);
    assertEquals(g.getConfiguration().toJson(), t.getGraphConfiguration().toJson());
    assertEquals(37, t.getGraphConfiguration().getIterationCount());
    assertEquals(2, t.getGraphConfiguration().getEpochCount());
    assertEquals(g.params(), t.getParameters());
    assertEquals(g.getUpdater().getStateViewArray(), t.getUpdaterState());
  }

  record Window(long index, int[] tokens) implements java.io.Serializable {}

  @Test
  void recordsGoAsJavaSerialization() {
    Window back = roundTrip(new Window(7, new int[] {1, 2, 3}));
    assertEquals(7, back.index());
    assertArrayEquals(new int[] {1, 2, 3}, back.tokens());
  }

  @Test
  void unmodifiableJdkCollectionsSurvive() {
    List<Object> values = List.of(List.of(), List.of(1), List.of(1, 2, 3), java.util.Set.of("a", "b"), java.util.Map.of("k", 1),
        java.util.stream.Stream.of("x", "y").toList(), java.util.Arrays.asList(4, 5),
        java.util.Collections.unmodifiableList(new java.util.ArrayList<>(List.of(6))),
        java.util.Collections.unmodifiableMap(new java.util.HashMap<>(java.util.Map.of("m", 2))),
        java.util.Collections.singletonList(7), java.util.Collections.emptyList(), java.util.Collections.emptyMap());
    for (Object v : values) assertEquals(v, roundTrip(v), v.getClass().getName());
  }

  @Test
  void theDefaultConfigurationCarriesAResultLargerThanKryosDefaultBuffer() {
    SparkConf conf = new SparkConf();
    CharsightConfig.defaults().section("spark.conf").forEach((k, v) -> conf.set(k, String.valueOf(v)));
    SerializerInstance k = ((org.apache.spark.serializer.Serializer) new KryoSerializer(conf)).newInstance();
    INDArray big = Nd4j.rand(DataType.FLOAT, 1, 20_000_000); // 80 MB: over Kryo's own 64m cap
    INDArray back = (INDArray) k.deserialize(k.serialize(big, ANY), ANY);
    assertEquals(big, back);
  }

  @Test
  void theDefaultSessionUsesItAndDl4jAcceptsIt() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkTestSession.get("local[2]").sparkContext());
    assertEquals(Nd4jKryoRegistrator.class.getName(), jsc.getConf().get("spark.kryo.registrator"));
    assertTrue(SparkUtils.checkKryoConfiguration(jsc, LoggerFactory.getLogger(Nd4jKryoRegistratorTest.class)));
  }
}
