package org.charsight.probe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A linear probe: Spark MLlib's logistic regression (L2-regularised, features standardised) fitted
 * on one set of vectors and scored on another. What it can read from a vector linearly is what the
 * model can read from it in one layer; a probe at the majority-class floor finds nothing.
 */
final class LinearProbe {
  private static final StructType SCHEMA = new StructType()
      .add("label", DataTypes.DoubleType, false)
      .add("features", SQLDataTypes.VectorType(), false);

  private LinearProbe() {}

  /** Test-set predictions and the class the training labels hold most (the floor's answer). */
  record Fit(int[] predicted, int majority) {}

  /**
   * @param trainY class labels 0..k-1 of {@code trainX}'s rows
   * @return predictions for {@code testX}; with a single class in training, that class everywhere
   */
  static Fit fit(SparkSession spark, double[][] trainX, int[] trainY, double[][] testX, double regParam) {
    int majority = majority(trainY);
    if (Arrays.stream(trainY).distinct().count() < 2) {
      int[] constant = new int[testX.length];
      Arrays.fill(constant, majority);
      return new Fit(constant, majority);
    }
    LogisticRegressionModel model = train(spark, trainX, trainY, regParam);
    int[] predicted = new int[testX.length];
    for (int i = 0; i < testX.length; i++) predicted[i] = (int) model.predict(Vectors.dense(testX[i]));
    return new Fit(predicted, majority);
  }

  /**
   * The fit, on one partition. MLlib sums each partition's loss, gradient and feature statistics
   * and merges the sums in the order the tasks finish; L-BFGS carries those last-bit differences
   * through its iterations, so with two partitions the same vectors gave two different models from
   * run to run (one test token's prediction in probe.csv moved). A probe's table is one row per
   * token, a few thousand at most: one partition costs nothing and fixes the order.
   */
  static LogisticRegressionModel train(SparkSession spark, double[][] x, int[] y, double regParam) {
    List<Row> rows = new ArrayList<>(x.length);
    for (int i = 0; i < x.length; i++) rows.add(RowFactory.create((double) y[i], Vectors.dense(x[i])));
    Dataset<Row> frame = spark.createDataFrame(rows, SCHEMA).coalesce(1);
    return new LogisticRegression().setMaxIter(200).setRegParam(regParam).setTol(1e-6).fit(frame);
  }

  static int majority(int[] y) {
    Map<Integer, Integer> counts = new HashMap<>();
    for (int v : y) counts.merge(v, 1, Integer::sum);
    int best = -1;
    int bestCount = -1;
    for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
      if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
        best = e.getKey();
        bestCount = e.getValue();
      }
    }
    return best;
  }

  static double accuracy(int[] predicted, int[] truth, int[] rows) {
    int right = 0;
    for (int r : rows) right += predicted[r] == truth[r] ? 1 : 0;
    return (double) right / rows.length;
  }

  /** The mean over the classes that occur in the truth or the predictions of each class's F1. */
  static double macroF1(int[] predicted, int[] truth, int[] rows) {
    Map<Integer, int[]> perClass = new HashMap<>(); // {true positives, predicted, actual}
    for (int r : rows) {
      perClass.computeIfAbsent(predicted[r], k -> new int[3])[1]++;
      perClass.computeIfAbsent(truth[r], k -> new int[3])[2]++;
      if (predicted[r] == truth[r]) perClass.get(truth[r])[0]++;
    }
    double sum = 0;
    for (int[] c : perClass.values()) sum += c[1] + c[2] == 0 ? 0 : 2.0 * c[0] / (c[1] + c[2]);
    return perClass.isEmpty() ? Double.NaN : sum / perClass.size();
  }

  /** All row indices, and {@code resamples} bootstrap draws of them, seeded. */
  static int[][] draws(int n, int resamples, long seed) {
    Random rnd = new Random(seed);
    int[][] out = new int[resamples + 1][n];
    for (int i = 0; i < n; i++) out[0][i] = i;
    for (int s = 1; s <= resamples; s++) for (int i = 0; i < n; i++) out[s][i] = rnd.nextInt(n);
    return out;
  }
}
