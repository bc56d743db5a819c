package org.charsight.jobs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.charsight.common.CharsightConfig;
import org.charsight.shards.Prepare;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = {
        "Tokenizes a corpus into Parquet shards of training windows.",
        "Writes train/ and val/ (windows of context+1 tokens), vocab.parquet (every token's bytes) and manifest.json."})
final class PrepareCommand extends JobCommand {
  @Option(names = "--input", arity = "1..*", required = true, paramLabel = "<path>",
      description = "files, directories or globs; text (.txt), JSONL (.jsonl), Parquet; optionally .gz; any Hadoop path")
  List<String> inputs;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory (local, hdfs://, s3a://)")
  String out;

  @Option(names = "--tokenizer", paramLabel = "<name|dir>",
      description = "gpt2 (default), bytes, or a train-tokenizer output directory (conf prepare.tokenizer)")
  String tokenizer;

  @Option(names = "--context", paramLabel = "<n>", description = "tokens per training sequence (conf prepare.context)")
  Integer context;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    if (tokenizer != null) conf = conf.with("prepare.tokenizer", tokenizer);
    if (context != null) conf = conf.with("prepare.context", context);
    Prepare.Options options = Prepare.Options.from(conf, inputs, out, overwrite);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("seed", conf.raw().getLong("seed"));
    config.put("corpus", conf.section("corpus"));
    config.put("prepare", conf.section("prepare"));
    return runStage("prepare", conf, spark -> Prepare.run(spark, options, config), out);
  }
}
