package org.charsight.jobs;

import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.charsight.shards.NanoGptExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Writes prepare's shards in another tool's format (nanogpt: train.bin/val.bin, uint16 little-endian).")
final class ExportCommand extends JobCommand {
  @Option(names = "--format", required = true, paramLabel = "<format>", description = "nanogpt")
  String format;

  @Option(names = "--shards", required = true, paramLabel = "<dir>", description = "a prepare output directory")
  String shards;

  @Option(names = "--out", paramLabel = "<dir>", description = "output directory (default <shards>/nanogpt)")
  String out;

  @Override
  public Integer call() {
    if (!format.equals("nanogpt")) throw new UserError("export: unknown --format '" + format + "'; expected nanogpt");
    CharsightConfig conf = config();
    String target = out != null ? out : shards + "/nanogpt";
    return runStage("export", conf, spark -> NanoGptExport.run(spark, shards, out, overwrite), target);
  }
}
