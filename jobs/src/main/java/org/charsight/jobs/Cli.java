package org.charsight.jobs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.charsight.common.Failure;
import org.charsight.common.Manifest;
import org.charsight.common.QuietStdout;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code charsight <command> [options] [key=value ...]}: the one entry point for every stage,
 * used by bin/charsight and by spark-submit ({@code --class org.charsight.jobs.Cli}).
 */
@Command(
    name = "charsight",
    mixinStandardHelpOptions = true,
    versionProvider = Cli.Version.class,
    description = "Tests whether a character-aware token embedding helps small GPTs at letter-level tasks.",
    subcommands = {TrainTokenizerCommand.class, PrepareCommand.class, PretrainCommand.class, TasksCommand.class,
        FinetuneCommand.class, EvaluateCommand.class, ProbeCommand.class, ExperimentCommand.class,
        ExportCommand.class, ExportWeightsCommand.class},
    footer = {
        "",
        "Also (handled by bin/charsight): fetch-corpus [--dest <dir>]  fetch the default corpus into data/corpus",
        "",
        "Any key=value argument overrides a conf key (see conf/defaults.conf), e.g. prepare.context=256.%n"})
public final class Cli implements Runnable {
  /** A conf override: a dotted key, '=', a value. Paths never match (no '/' in keys). */
  static final Pattern OVERRIDE = Pattern.compile("^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_\"-]+)*=.*", Pattern.DOTALL);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
  }

  public static void main(String[] args) {
    // Before the first logger: log4j2.properties sends every log line, with its stack trace, here.
    System.setProperty(LOG_PROPERTY, RunLog.newFile(args).toString());
    QuietStdout.install();
    System.exit(run(args));
  }

  /** The run's log file: every log line with stack traces (the console gets one line per event). */
  static final String LOG_PROPERTY = "charsight.log.file";

  /** One line on stderr for any failure of a command, the stack trace in the run's log; the exit code. */
  static int report(String command, Throwable e, String[] args) {
    Failure f = Failure.of(command, e);
    Path log = RunLog.append(System.getProperty(LOG_PROPERTY), args, e);
    System.err.println(f.printed(log == null ? null : log.toString()));
    return f.exitCode();
  }

  /** Runs a command and returns its exit code: 0 ok, 2 bad input or usage, 1 internal error. */
  public static int run(String... args) {
    List<String> rest = new ArrayList<>();
    List<String> overrides = new ArrayList<>();
    for (String a : args) (OVERRIDE.matcher(a).matches() && !a.startsWith("-") ? overrides : rest).add(a);
    CommandLine cl = new CommandLine(new Cli());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> report(cmd.getCommandName(), e, args));
    cl.setParameterExceptionHandler((e, a) -> {
      System.err.println("charsight: " + e.getMessage());
      System.err.println("(try: charsight " + (e.getCommandLine() == cl ? "" : e.getCommandLine().getCommandName() + " ")
          + "--help)");
      return 2;
    });
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (sub.getCommand() instanceof JobCommand j) j.overrides = overrides;
    }
    return cl.execute(rest.toArray(String[]::new));
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"charsight " + Manifest.mavenVersion("org.charsight", "charsight-pipeline")};
    }
  }
}
