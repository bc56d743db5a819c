package org.charsight.jobs;

import org.charsight.common.CharsightConfig;
import org.charsight.probe.Probe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "probe", mixinStandardHelpOptions = true,
    description = {
        "Measures how much of each token's spelling each pretrained arm's input representation holds.",
        "Linear probes (MLlib logistic regression) for letters present, first letter and length in letters,",
        "trained on the tokens of training words, scored on tokens only held-out words have, with 95% intervals",
        "and the majority-class floor. Writes probe.csv and manifest.json."})
final class ProbeCommand extends JobCommand {
  @Option(names = "--models", required = true, paramLabel = "<dir>", description = "a pretrain output directory")
  String models;

  @Option(names = "--tasks", required = true, paramLabel = "<dir>", description = "a tasks output directory (its word split)")
  String tasks;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    Probe.Options options = Probe.Options.from(conf, models, tasks, out, overwrite);
    return runStage("probe", conf, spark -> Probe.run(spark, options), out);
  }
}
