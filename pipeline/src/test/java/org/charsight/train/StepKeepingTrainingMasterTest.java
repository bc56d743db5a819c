package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.charsight.model.Arch;
import org.charsight.model.Batch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.charsight.testing.SparkTestSession;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

class StepKeepingTrainingMasterTest {
  private static final int V = 40;
  private static final int T = 8;
  private static final int BATCH = 4;
  private static final int FREQ = 2;
  private static final int WORKERS = 2;

  /**
   * A schedule that is non-zero for the first two steps only. After one averaging round of two steps
   * the workers must train at rate zero, as a single process would; DL4J's own worker restarted the
   * schedule at step 0 every round and kept moving the parameters.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void workersContinueTheDriversLearningRateSchedule(boolean keepSteps) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkTestSession.get("local[2]").sparkContext());
    LanguageModel m = LanguageModel.create(
        new GptConfig(Arch.CHAR, V, T, 16, 2, 4, 0.0, 0.02, 4, 4, 6, 3e-3, 3e-4, 20, 2000, 0.0, 0.9, 0.95, 0.0, 42,
            DataType.FLOAT),
        IntStream.range(0, V).mapToObj(i -> i == 0 ? new byte[0] : new byte[] {(byte) ('a' + i % 26)}).toList());
    m.startLearningRateSchedule(1e-2, 0, 1, FREQ);
    Random rnd = new Random(3);
    INDArray start = m.graph().params().dup();

    INDArray afterFirst = oneRound(jsc, m, rnd, keepSteps);
    assertNotEquals(start, afterFirst, "the first round trains at a non-zero rate");
    assertEquals(FREQ, m.graph().getIterationCount());

    INDArray afterSecond = oneRound(jsc, m, rnd, keepSteps);
    assertEquals(2 * FREQ, m.graph().getIterationCount());
    if (keepSteps) {
      assertEquals(afterFirst, afterSecond, "the schedule reached zero at step " + FREQ + " but the workers kept training");
    } else {
      // The defect itself, so that this test notices when a DL4J upgrade fixes it.
      assertNotEquals(afterFirst, afterSecond, "DL4J's own worker now keeps the step count: StepKeepingTrainingMaster can go");
    }
  }

  private static INDArray oneRound(JavaSparkContext jsc, LanguageModel m, Random rnd, boolean keepSteps) {
    List<DataSet> batches = new ArrayList<>();
    for (int i = 0; i < WORKERS * FREQ; i++) {
      int[][] windows = new int[BATCH][T + 1];
      for (int[] w : windows) for (int t = 0; t <= T; t++) w[t] = rnd.nextInt(V);
      batches.add(Batch.of(windows, T, DataType.FLOAT));
    }
    JavaRDD<DataSet> rdd = jsc.parallelize(batches, WORKERS);
    ParameterAveragingTrainingMaster.Builder b = new ParameterAveragingTrainingMaster.Builder(BATCH).batchSizePerWorker(BATCH)
        .averagingFrequency(FREQ).saveUpdater(true).rngSeed(7).rddTrainingApproach(RDDTrainingApproach.Direct)
        .repartionData(Repartition.Never);
    SparkComputationGraph net = new SparkComputationGraph(jsc, m.graph(), keepSteps ? new StepKeepingTrainingMaster(b) : b.build());
    net.fit(rdd);
    return net.getNetwork().params().dup();
  }
}
