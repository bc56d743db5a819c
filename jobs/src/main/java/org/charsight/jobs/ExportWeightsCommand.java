package org.charsight.jobs;

import java.io.File;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.charsight.model.LanguageModel;
import org.charsight.model.WeightsExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "export-weights", mixinStandardHelpOptions = true,
    description = {
        "Writes every parameter of a saved model as NumPy .npy files.",
        "With an index in manifest.json, to check the model against or move it to another framework. No Spark."})
final class ExportWeightsCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "<file>", description = "a saved charsight model (.zip)")
  File model;

  @Option(names = "--out", required = true, paramLabel = "<dir>", description = "output directory")
  String out;

  @Option(names = "--overwrite", description = "replace an existing output directory")
  boolean overwrite;

  @Override
  public Integer call() {
    LanguageModel m = LanguageModel.load(model);
    System.out.println(WeightsExport.run(m, out, overwrite, new Configuration()).size() + " tensors in " + out);
    return 0;
  }
}
