package org.charsight.jobs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.charsight.common.CharsightConfig;
import org.charsight.tokenize.TrainTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train-tokenizer", mixinStandardHelpOptions = true,
    description = {
        "Trains a byte-level BPE tokenizer of any vocabulary size on a corpus.",
        "Writes tokenizer.tiktoken (tiktoken rank format), tokenizer.json and manifest.json;",
        "use the directory with prepare --tokenizer <dir>."})
final class TrainTokenizerCommand extends JobCommand {
  @Option(names = "--input", arity = "1..*", required = true, paramLabel = "<path>",
      description = "files, directories or globs, as for prepare")
  List<String> inputs;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Option(names = "--vocab-size", paramLabel = "<n>",
      description = "total ids: 256 bytes + merges + 2 specials (conf train_tokenizer.vocab_size)")
  Integer vocabSize;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    if (vocabSize != null) conf = conf.with("train_tokenizer.vocab_size", vocabSize);
    TrainTokenizer.Options options = TrainTokenizer.Options.from(conf, inputs, out, overwrite);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("corpus", conf.section("corpus"));
    config.put("train_tokenizer", conf.section("train_tokenizer"));
    return runStage("train-tokenizer", conf, spark -> TrainTokenizer.run(spark, options, config), out);
  }
}
