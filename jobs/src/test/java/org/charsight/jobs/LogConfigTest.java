package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.properties.PropertiesConfigurationFactory;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.junit.jupiter.api.Test;

/** The application's logging configuration, read as the CLI and spark-submit read it. */
class LogConfigTest {
  private static Filter.Result decide(Configuration conf, String logger, String message) {
    LoggerConfig lc = conf.getLoggerConfig(logger);
    Log4jLogEvent event = Log4jLogEvent.newBuilder().setLoggerName(logger).setLevel(Level.WARN)
        .setMessage(new SimpleMessage(message)).build();
    return lc.getFilter() == null ? Filter.Result.NEUTRAL : lc.getFilter().filter(event);
  }

  /** Spark's overlapping broadcast removals stay off the console (CI failed on one); its other block warnings do not. */
  @Test
  void aBroadcastRemovedTwiceIsNotAWarningButOtherBlockTroubleIs() throws Exception {
    ConfigurationSource source = ConfigurationSource.fromResource("log4j2.properties", getClass().getClassLoader());
    Configuration conf = new PropertiesConfigurationFactory().getConfiguration(new LoggerContext("log-config-test"), source);
    conf.initialize();
    String bm = "org.apache.spark.storage.BlockManager";
    assertEquals(bm, conf.getLoggerConfig(bm).getName(), "the file configures BlockManager's logger itself");
    assertEquals(Filter.Result.DENY, decide(conf, bm, "Asked to remove block broadcast_9536_piece0, which does not exist"));
    assertEquals(Filter.Result.DENY, decide(conf, bm, "Asked to remove block broadcast_12, which does not exist"));
    assertEquals(Filter.Result.NEUTRAL, decide(conf, bm, "Asked to remove block rdd_3_1, which does not exist"));
    assertEquals(Filter.Result.NEUTRAL, decide(conf, bm, "Putting block rdd_3_1 failed"));
    assertEquals(Level.WARN, conf.getLoggerConfig(bm).getLevel(), "the logger keeps the root's level");
  }
}
