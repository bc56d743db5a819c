package org.charsight.jobs;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;
import picocli.CommandLine.Option;

/** What every Spark job shares: --master, --conf, --overwrite and key=value overrides. */
abstract class JobCommand implements Callable<Integer> {
  @Option(names = "--master", paramLabel = "<url>",
      description = "Spark master: local[*] (default), local-cluster[N,cores,MB], spark://host:port, yarn, k8s://...")
  String master;

  @Option(names = "--conf", paramLabel = "<file>", description = "experiment conf (HOCON) over conf/defaults.conf")
  Path confFile;

  @Option(names = "--overwrite", description = "replace an existing output directory")
  boolean overwrite;

  /** key=value arguments, separated out by Cli before parsing. */
  List<String> overrides = List.of();

  CharsightConfig config() {
    return CharsightConfig.load(confFile, overrides);
  }

  /**
   * Starts Spark. Under spark-submit the master is already chosen (system property spark.master)
   * and --master is not needed.
   */
  /** Runs one stage on a fresh session: prints the output location on success, always stops Spark. */
  Integer runStage(String name, CharsightConfig conf, Consumer<SparkSession> stage, String out) {
    SparkSession spark = spark(name, conf);
    try {
      stage.accept(spark);
      System.out.println(out);
      return 0;
    } finally {
      spark.stop();
    }
  }

  SparkSession spark(String name, CharsightConfig conf) {
    String m = master;
    if (m == null && System.getProperty("spark.master") != null) m = System.getProperty("spark.master");
    return SparkSessions.start("charsight " + name, m, conf);
  }
}
