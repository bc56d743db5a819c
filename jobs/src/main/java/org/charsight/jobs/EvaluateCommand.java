package org.charsight.jobs;

import java.util.List;
import org.charsight.common.CharsightConfig;
import org.charsight.eval.Evaluate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = {
        "Answers every evaluation example by greedy decoding on Spark and scores exact match.",
        "Per arm x task x split x tokens-per-word bucket, with 95%% bootstrap intervals: results.csv, results.json,",
        "results_by_run.csv, differences.csv (each arm minus baseline, paired bootstrap), predictions/ (Parquet) and",
        "manifest.json; prints held-out-word accuracy per arm and task."})
final class EvaluateCommand extends JobCommand {
  @Option(names = "--models", required = true, split = ",", paramLabel = "<dir>",
      description = "finetune output directories, one per run (seed) of the same arms; results pool the runs")
  List<String> models;

  @Option(names = "--tasks", required = true, split = ",", paramLabel = "<dir>",
      description = "tasks output directories: one per --models directory (the tasks it was fine-tuned on), or one for all")
  List<String> tasks;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    Evaluate.Options options = Evaluate.Options.from(conf, models, tasks, out, overwrite);
    return runStage("evaluate", conf, spark -> Evaluate.run(spark, options), out);
  }
}
