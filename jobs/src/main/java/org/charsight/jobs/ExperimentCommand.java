package org.charsight.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.charsight.common.CharsightConfig;
import org.charsight.experiment.Experiment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = {
        "Runs the whole study from one conf: train-tokenizer, prepare, then per seed tasks, pretrain, probe, finetune,",
        "evaluate and report, for every vocabulary x arm x seed in the conf's experiment section.",
        "A stage whose recorded request and output manifest still match is reused; a crashed run resumes.",
        "Writes runs/<conf name>/ (or --out) with every stage's output and report/index.html."})
final class ExperimentCommand extends JobCommand {
  @Option(names = "--out", paramLabel = "<dir>", description = "run directory (default runs/<conf file name>)")
  String out;

  @Option(names = "--force", split = ",", paramLabel = "<stage>",
      description = "redo these stages (and what depends on them): train-tokenizer, prepare, tasks, pretrain, probe, finetune, "
          + "evaluate, report")
  List<String> force = List.of();

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    String name = confFile == null ? "default" : confFile.getFileName().toString().replaceFirst("\\.conf$", "");
    String dir = out != null ? out : "runs/" + name;
    Set<String> forced = new LinkedHashSet<>(force);
    if (overwrite) forced.addAll(Experiment.STAGES);
    String text;
    try {
      text = (confFile == null ? "# conf/defaults.conf only\n" : Files.readString(confFile))
          + (overrides.isEmpty() ? "" : "\n# command-line overrides\n" + String.join("\n", overrides) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + confFile, e);
    }
    String corpus = System.getProperty("charsight.home", ".") + "/data/corpus";
    Experiment.Options options = new Experiment.Options(conf, name, text, dir, corpus, forced);
    Experiment.check(conf);
    return runStage("experiment", conf, spark -> Experiment.run(spark, options), dir + "/report/index.html");
  }
}
