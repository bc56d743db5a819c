package org.charsight.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;

/**
 * One SparkSession per test JVM and master. Switching master stops the previous session, so a
 * local[2] class and a local-cluster class can share a Surefire fork.
 */
public final class SparkTestSession {
  private static SparkSession current;
  private static String currentKey;

  private SparkTestSession() {}

  public static synchronized SparkSession get(String master) {
    return get(master, new String[0]);
  }

  /** A session on this master with these Spark settings ({@code key=value}) besides the tests' own. */
  public static synchronized SparkSession get(String master, String... sparkConf) {
    String key = master + " " + String.join(" ", sparkConf);
    if (current != null && key.equals(currentKey) && !current.sparkContext().isStopped()) return current;
    if (current != null) current.stop();
    List<String> settings = new ArrayList<>(List.of(
        "spark.conf.spark.sql.shuffle.partitions=4",
        "spark.conf.spark.executor.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        "progress.interval_ms=60000"));
    for (String c : sparkConf) settings.add("spark.conf." + c);
    current = SparkSessions.start("charsight-test", master, CharsightConfig.load(null, settings));
    currentKey = key;
    if (master.startsWith("local-cluster[")) {
      int want = Integer.parseInt(master.substring("local-cluster[".length()).split(",")[0].trim());
      awaitExecutors(current, want);
    }
    return current;
  }

  /** Waits (bounded) until the cluster has its executor JVMs; a bad classpath would loop forever. */
  public static void awaitExecutors(SparkSession spark, int n) {
    long deadline = System.currentTimeMillis() + 120_000;
    while (spark.sparkContext().getExecutorIds().size() < n) {
      assertFalse(spark.sparkContext().isStopped(), "SparkContext stopped while waiting for executors");
      assertTrue(System.currentTimeMillis() < deadline, "executors did not register within 120 s; see $SPARK_HOME/work");
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  public static synchronized void stop() {
    if (current != null) current.stop();
    current = null;
    currentKey = null;
  }
}
