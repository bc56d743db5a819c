package org.charsight.common;

import java.io.File;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession every job uses, so that local, local-cluster and real cluster runs differ
 * only in the master URL.
 */
public final class SparkSessions {
  private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");

  static final String DL4J_TIME_SOURCE = "org.deeplearning4j.spark.time.TimeSource";
  static final String SYSTEM_CLOCK = "org.deeplearning4j.spark.time.SystemClockTimeSource";

  private SparkSessions() {}

  /**
   * @param master the master URL; null means conf {@code spark.master}
   */
  public static SparkSession start(String appName, String master, CharsightConfig conf) {
    String m = master != null ? master : conf.string("spark.master");
    SparkSession.Builder b = SparkSession.builder().appName(appName).master(m);
    Map<String, Object> extra = conf.section("spark.conf");
    boolean local = m.startsWith("local");
    if (local) {
      // On a laptop nothing should listen beyond loopback, and the web UI is rarely wanted.
      b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
      b.config("spark.ui.enabled", "false");
    }
    Matcher lc = LOCAL_CLUSTER.matcher(m);
    if (lc.matches()) {
      String home = System.getenv("SPARK_HOME");
      if (home == null || home.isBlank()) {
        throw new UserError("--master " + m + ": needs SPARK_HOME set to a writable directory (bin/charsight sets it)");
      }
      new File(home, "jars").mkdirs();
      // Executor JVMs are started by the in-process workers; they need our classes and a heap
      // that fits in the worker's memory.
      b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
      b.config("spark.executor.memory", lc.group(3) + "m");
    }
    String executorOpts = "";
    for (Map.Entry<String, Object> e : extra.entrySet()) {
      if (e.getKey().equals("spark.executor.extraJavaOptions")) executorOpts = String.valueOf(e.getValue());
      else b.config(e.getKey(), String.valueOf(e.getValue()));
    }
    // DL4J's Spark training statistics default to asking an internet NTP server for the time;
    // there is no internet here and clusters have synchronised clocks anyway.
    System.setProperty(DL4J_TIME_SOURCE, System.getProperty(DL4J_TIME_SOURCE, SYSTEM_CLOCK));
    b.config("spark.executor.extraJavaOptions", (executorOpts + " -D" + DL4J_TIME_SOURCE + "=" + SYSTEM_CLOCK).trim());
    SparkSession spark = b.getOrCreate();
    spark.sparkContext().addSparkListener(new SparkProgress(conf.longAtLeast("progress.interval_ms", 100)));
    return spark;
  }
}
