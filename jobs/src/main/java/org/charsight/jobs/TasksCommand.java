package org.charsight.jobs;

import java.util.List;
import org.charsight.common.CharsightConfig;
import org.charsight.tasks.Tasks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tasks", mixinStandardHelpOptions = true,
    description = {
        "Makes the character-task examples from corpus words or a word list.",
        "Training, held-out and nonce words, every task family, encoded with the shards' tokenizer.",
        "Writes examples/ (Parquet, by split) and manifest.json."})
final class TasksCommand extends JobCommand {
  @Option(names = "--shards", required = true, paramLabel = "<dir>", description = "a prepare output directory")
  String shards;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Option(names = "--words", paramLabel = "<file>", description = "a word list (one per line) instead of corpus words")
  String words;

  @Option(names = "--import-cute", arity = "1..*", paramLabel = "<tsv>",
      description = "CUTE character-task TSV files to add as evaluation rows (splits cute, cute_nonce)")
  List<String> cute = List.of();

  @Override
  public Integer call() {
    CharsightConfig conf = config();
    Tasks.Options options = Tasks.Options.from(conf, shards, out, overwrite, words, cute);
    return runStage("tasks", conf, spark -> Tasks.run(spark, options), out);
  }
}
