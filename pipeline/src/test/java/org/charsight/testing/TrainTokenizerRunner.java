package org.charsight.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.tokenize.TrainTokenizer;

/** Runs train-tokenizer in-process the way the CLI does. */
public final class TrainTokenizerRunner {
  private TrainTokenizerRunner() {}

  public static Map<String, Object> train(SparkSession spark, List<String> inputs, Path out, String... overrides) {
    CharsightConfig conf = CharsightConfig.load(null, List.of(overrides));
    return TrainTokenizer.run(spark, TrainTokenizer.Options.from(conf, inputs, out.toString(), false), Map.of());
  }
}
