package org.charsight.common;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkException;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the SparkSession every job uses, so that local, local-cluster and real cluster runs differ
 * only in the master URL.
 */
public final class SparkSessions {
  private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");
  private static final Pattern STANDALONE = Pattern.compile("spark://([^:/,]+):(\\d+)");
  private static final Logger LOG = LoggerFactory.getLogger(SparkSessions.class);

  static final String DL4J_TIME_SOURCE = "org.deeplearning4j.spark.time.TimeSource";
  static final String SYSTEM_CLOCK = "org.deeplearning4j.spark.time.SystemClockTimeSource";
  /**
   * JavaCPP reads the process's resident size from /proc on every native allocation when this is
   * above 0 (its default), to call System.gc() near a cap; ND4J allocates shape descriptors for
   * every op, and the check was 7% of a small model's training step (bench/README.md). ND4J frees
   * its arrays through its own deallocator, and JavaCPP's own byte count still triggers collection.
   */
  static final String JAVACPP_MAX_PHYSICAL = "org.bytedeco.javacpp.maxPhysicalBytes";
  static final String PLUGINS = "spark.plugins";
  /** The JDK's vector API (model.kernels = vector); not a dependency of common, only a JVM option to pass on. */
  static final String VECTOR_MODULE = "jdk.incubator.vector";

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
    Matcher sa = STANDALONE.matcher(m);
    if (sa.matches()) {
      // An unreachable master would otherwise cost Spark's three 20-second registration attempts.
      probe(m, sa.group(1), Integer.parseInt(sa.group(2)), conf.intAtLeast("cluster.connect_timeout_seconds", 1));
      boolean loopback = sa.group(1).equals("127.0.0.1") || sa.group(1).equals("localhost");
      if (loopback && !extra.containsKey("spark.executor.extraClassPath") && System.getProperty("spark.jars") == null) {
        // A cluster on this machine (bin/cluster): its executors can read our jars where they are.
        b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
      }
    }
    applySparkConf(b, extra);
    SparkSession spark;
    try {
      spark = b.getOrCreate();
    } catch (RuntimeException e) {
      throw e instanceof IllegalArgumentException ? startError(m, e) : e;
    } catch (Exception e) { // SparkException, declared by Scala only
      if (e instanceof SparkException) throw startError(m, e);
      throw new IllegalStateException(e);
    }
    spark.sparkContext().addSparkListener(new SparkProgress(conf.longAtLeast("progress.interval_ms", 100)));
    if (!m.startsWith("local[") && !m.equals("local")) {
      int want = lc.matches() ? Integer.parseInt(lc.group(1)) : conf.intAtLeast("cluster.min_executors", 1);
      awaitExecutors(spark, m, want, conf.intAtLeast("cluster.executor_wait_seconds", 1),
          conf.longAtLeast("progress.interval_ms", 100));
    }
    return spark;
  }

  /**
   * The conf's {@code spark.conf} settings, with what every charsight application adds: the executors' Java
   * options ({@link #withSystemProperties}) and, after the plugins set here or by spark-submit, the one that
   * makes every JVM wrap ND4J's executioner before its first task ({@link ReachableOps}).
   */
  private static void applySparkConf(SparkSession.Builder b, Map<String, Object> extra) {
    String executorOpts = "";
    // spark-submit's --conf spark.plugins=... arrives as a system property; a setting here would replace it.
    String plugins = System.getProperty(PLUGINS, "");
    for (Map.Entry<String, Object> e : extra.entrySet()) {
      if (e.getKey().equals("spark.executor.extraJavaOptions")) executorOpts = String.valueOf(e.getValue());
      else if (e.getKey().equals(PLUGINS)) plugins = String.valueOf(e.getValue());
      else b.config(e.getKey(), String.valueOf(e.getValue()));
    }
    b.config("spark.executor.extraJavaOptions", withSystemProperties(executorOpts));
    String ours = ReachableOps.Plugin.class.getName();
    b.config(PLUGINS, plugins.isBlank() ? ours : plugins.contains(ours) ? plugins : plugins + "," + ours);
  }

  /**
   * The executors' Java options with the system properties every charsight JVM runs with, which
   * this (driver) JVM also gets: DL4J's Spark training statistics default to asking an internet
   * NTP server for the time (there is none here, and clusters have synchronised clocks), and
   * {@link #JAVACPP_MAX_PHYSICAL}. In this JVM the latter acts only if ND4J has not loaded yet
   * (bin/charsight also sets it on the command line).
   */
  private static String withSystemProperties(String executorOpts) {
    System.setProperty(DL4J_TIME_SOURCE, System.getProperty(DL4J_TIME_SOURCE, SYSTEM_CLOCK));
    System.setProperty(JAVACPP_MAX_PHYSICAL, System.getProperty(JAVACPP_MAX_PHYSICAL, "0"));
    String opts = executorOpts + " -D" + DL4J_TIME_SOURCE + "=" + SYSTEM_CLOCK;
    if (!executorOpts.contains(JAVACPP_MAX_PHYSICAL)) opts += " -D" + JAVACPP_MAX_PHYSICAL + "=0";
    // A driver started with the vector API (model.kernels = vector) gives it to the executors, which train.
    if (ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent() && !executorOpts.contains(VECTOR_MODULE)) {
      opts += " --add-modules " + VECTOR_MODULE;
    }
    return opts.trim();
  }

  /** Spark's own refusals at start-up are about the master URL or spark.* settings. */
  private static UserError startError(String master, Exception e) {
    return new UserError("--master " + master + ": Spark cannot start: " + e.getMessage(), e);
  }

  /**
   * Jobs size their work by the executors present (DL4J's workers, partitions), so they start only
   * once enough have registered; a cluster without the cores or memory asked for fails with a
   * message instead of waiting for ever.
   */
  static void awaitExecutors(SparkSession spark, String master, int want, int seconds, long progressMs) {
    long start = System.nanoTime();
    long lastLog = start;
    while (true) {
      int have = spark.sparkContext().getExecutorIds().size();
      if (have >= want) return;
      long now = System.nanoTime();
      if (spark.sparkContext().isStopped()) {
        throw new UserError("--master " + master + ": Spark stopped while waiting for executors (see the log above)");
      }
      if (now - start > seconds * 1_000_000_000L) {
        spark.stop();
        throw new UserError("--master " + master + ": only " + have + " of " + want + " executor(s) registered within "
            + seconds + " s (cluster.min_executors, cluster.executor_wait_seconds); the cluster may lack the cores or"
            + " memory asked for (spark.executor.cores, spark.executor.memory)");
      }
      if (now - lastLog > progressMs * 1_000_000L) {
        LOG.info("waiting for executors: {} of {} registered ({} s)", have, want, (now - start) / 1_000_000_000L);
        lastLog = now;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for executors", e);
      }
    }
  }

  private static void probe(String master, String host, int port, int seconds) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), seconds * 1000);
    } catch (IOException e) {
      throw new UserError("--master " + master + ": cannot connect to " + host + ":" + port + " within " + seconds + " s ("
          + e.getMessage() + "); is the master running? (bin/cluster status)");
    }
  }
}
