package org.charsight.jobs;

import java.util.List;
import org.charsight.common.CharsightConfig;
import org.charsight.train.Pretrain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {
        "Trains the model arms on prepare's shards with DL4J's Spark trainer.",
        "Parameter averaging; every arm on identical minibatches. Writes <out>/<arm>/metrics.csv, checkpoint-<round>.zip,",
        "model.zip and <out>/manifest.json."})
final class PretrainCommand extends JobCommand {
  @Option(names = "--shards", required = true, paramLabel = "<dir>", description = "a prepare output directory")
  String shards;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Option(names = "--arms", split = ",", paramLabel = "<arm>",
      description = "baseline,char,baseline-matched,char-shuffled,byte (conf pretrain.arms)")
  List<String> arms;

  @Option(names = "--resume", description = "continue from the last checkpoint in --out")
  boolean resume;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    Pretrain.Options options = Pretrain.Options.from(conf, shards, out, overwrite, resume, arms);
    return runStage("pretrain", conf, spark -> Pretrain.run(spark, options), out);
  }
}
