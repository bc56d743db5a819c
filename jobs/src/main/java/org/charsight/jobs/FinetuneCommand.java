package org.charsight.jobs;

import org.charsight.common.CharsightConfig;
import org.charsight.train.Finetune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {
        "Continues each pretrained arm on a mixture of LM windows and task examples (answer-only loss) on Spark.",
        "Writes <out>/<arm>/metrics.csv (LM and task validation loss), checkpoint-<round>.zip, model.zip and manifest.json."})
final class FinetuneCommand extends JobCommand {
  @Option(names = "--from", required = true, paramLabel = "<dir>", description = "a pretrain output directory")
  String from;

  @Option(names = "--tasks", required = true, paramLabel = "<dir>", description = "a tasks output directory")
  String tasks;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Option(names = "--resume", description = "continue from the last checkpoint in --out")
  boolean resume;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    Finetune.Options options = Finetune.Options.from(conf, from, tasks, out, overwrite, resume);
    return runStage("finetune", conf, spark -> Finetune.run(spark, options), out);
  }
}
