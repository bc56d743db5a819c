package org.charsight.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.AtomicFiles;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.eval.Evaluate;
import org.charsight.probe.Probe;
import org.charsight.report.Report;
import org.charsight.shards.Prepare;
import org.charsight.tasks.Tasks;
import org.charsight.tokenize.TrainTokenizer;
import org.charsight.train.Finetune;
import org.charsight.train.Pretrain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole study from one conf: for every vocabulary, train-tokenizer (for bpe-N) and prepare;
 * for every seed, tasks (the seed's word split), pretrain, the spelling probe and finetune of all arms; evaluate pooling the seeds; then one
 * report over everything. Each stage writes where the layout below says, under the run directory:
 *
 * <pre>
 *   tokenizers/&lt;vocab&gt;  shards/&lt;vocab&gt;  tasks/&lt;vocab&gt;/seed-&lt;s&gt;
 *   pretrain/&lt;vocab&gt;/seed-&lt;s&gt;  probe/&lt;vocab&gt;/seed-&lt;s&gt;  finetune/&lt;vocab&gt;/seed-&lt;s&gt;  evaluate/&lt;vocab&gt;  report
 * </pre>
 *
 * <p>Reuse: before a stage runs, its request (stage, arguments, the conf sections it reads, and the
 * manifests of the outputs it reads) is written to {@code .experiment/<out>.request.json}; when it
 * has finished, the same request goes to {@code .experiment/<out>.done.json} with the creation time
 * of the manifest it produced. A stage is skipped when its output's manifest is the one recorded
 * for an equal request. Since a request names its inputs' manifests, redoing a stage redoes all
 * that depends on it. A crash leaves a request without a done record: the stage runs again, and
 * pretraining and fine-tuning resume from their last checkpoint when the request is unchanged.
 */
public final class Experiment {
  private static final Logger LOG = LoggerFactory.getLogger(Experiment.class);
  static final String RECORDS = ".experiment";
  public static final List<String> STAGES =
      List.of("train-tokenizer", "prepare", "tasks", "pretrain", "probe", "finetune", "evaluate", "report");

  private Experiment() {}

  /**
   * @param name what the report calls the run (the conf file's name)
   * @param confText the conf as written, for the report
   * @param defaultCorpus the corpus used when {@code experiment.inputs} is empty
   * @param force stages to redo even when their output could be reused
   */
  public record Options(CharsightConfig conf, String name, String confText, String out, String defaultCorpus,
      Set<String> force) {

    public Options {
      for (String f : force) {
        if (!STAGES.contains(f)) throw new UserError("--force: expected one of " + STAGES + ", got '" + f + "'");
      }
    }
  }

  /** One vocabulary of the grid: its label, the tokenizer prepare gets, and the arms trained. */
  record Vocabulary(String label, Integer bpeSize, String fixedTokenizer) {
    static Vocabulary parse(String v) {
      if (v.equals("gpt2") || v.equals("bytes")) return new Vocabulary(v, null, v);
      if (v.matches("bpe-[1-9][0-9]*")) return new Vocabulary(v, Integer.parseInt(v.substring(4)), null);
      throw new UserError("experiment.vocabularies: expected bpe-<size>, gpt2 or bytes, got '" + v + "'");
    }

    /** The byte vocabulary has one arm: the baseline on bytes, i.e. the tokenizer-free 'byte' arm. */
    List<String> arms(List<String> requested) {
      return label.equals("bytes") ? List.of("byte") : requested.stream().filter(a -> !a.equals("byte")).toList();
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    Path root = new Path(o.out());
    FileSystem fs = Manifest.withoutChecksums(fs(root, hadoop));
    Grid grid = check(o.conf());
    List<String> inputs = inputs(o);
    Runner r = new Runner(spark, fs, root, o.force());
    r.total = 1; // the report
    for (Vocabulary v : grid.vocabularies()) r.total += (v.bpeSize() != null ? 1 : 0) + 2 + 4 * grid.seeds().size();
    List<Report.Vocabulary> reported = new ArrayList<>();
    for (Vocabulary v : grid.vocabularies()) reported.add(vocabulary(r, spark, o.conf(), grid, v, inputs));
    String report = r.path("report");
    report(r, o, reported, report, hadoop);
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("out", o.out());
    summary.put("stages_run", r.ran);
    summary.put("stages_reused", r.reused);
    summary.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
    LOG.info("experiment: {} stage(s) run, {} reused, {} s; report: {}", r.ran, r.reused,
        String.format(Locale.ROOT, "%.0f", (System.nanoTime() - t0) / 1e9), new Path(report, "index.html"));
    return summary;
  }

  /** experiment.inputs, or the default corpus when it is empty. */
  private static List<String> inputs(Options o) {
    List<String> inputs = o.conf().strings("experiment.inputs");
    if (!inputs.isEmpty()) return inputs;
    if (!new File(o.defaultCorpus()).isDirectory()) {
      throw new UserError("experiment.inputs is empty and the default corpus " + o.defaultCorpus()
          + " is missing: run bin/charsight fetch-corpus, or set experiment.inputs to your corpus");
    }
    return List.of(o.defaultCorpus());
  }

  /** One vocabulary's stages: tokenizer, shards, tasks, then pretraining and fine-tuning per seed, then evaluation. */
  private static Report.Vocabulary vocabulary(Runner r, SparkSession spark, CharsightConfig c, Grid grid, Vocabulary v,
      List<String> in) {
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    List<String> vArms = v.arms(grid.arms());
    String tokenizer = v.fixedTokenizer();
    if (v.bpeSize() != null) {
      String out = r.path("tokenizers/" + v.label());
      CharsightConfig tc = c.with("train_tokenizer.vocab_size", v.bpeSize());
      r.step("train-tokenizer", out, request(List.of("seed", "corpus", "train_tokenizer"), tc, Map.of("inputs", in)),
          List.of(), (overwrite, resume) -> TrainTokenizer.run(spark,
              TrainTokenizer.Options.from(tc, in, out, overwrite), sections(tc, "seed", "corpus", "train_tokenizer")));
      tokenizer = out;
    }
    String shards = r.path("shards/" + v.label());
    CharsightConfig pc = c.with("prepare.tokenizer", tokenizer);
    r.step("prepare", shards, request(List.of("seed", "corpus", "prepare"), pc, Map.of("inputs", in)),
        v.bpeSize() != null ? List.of(tokenizer) : List.of(),
        (overwrite, resume) -> Prepare.run(spark, Prepare.Options.from(pc, in, shards, overwrite, hadoop),
            sections(pc, "seed", "corpus", "prepare")));
    List<String> finetuned = new ArrayList<>();
    List<String> tasksDirs = new ArrayList<>();
    List<Report.Run> runs = new ArrayList<>();
    for (long seed : grid.seeds()) {
      // Each seed draws its own word split, so intervals over seeds include the choice of words.
      CharsightConfig sc = c.with("seed", seed);
      String tasks = r.path("tasks/" + v.label() + "/seed-" + seed);
      r.step("tasks", tasks, request(List.of("seed", "tasks"), sc, Map.of()), List.of(shards),
          (overwrite, resume) -> Tasks.run(spark, Tasks.Options.from(sc, shards, tasks, overwrite, null)));
      String pre = r.path("pretrain/" + v.label() + "/seed-" + seed);
      r.step("pretrain", pre, request(List.of("seed", "model", "pretrain"), sc, Map.of("arms", vArms)), List.of(shards),
          (overwrite, resume) -> Pretrain.run(spark, Pretrain.Options.from(sc, shards, pre, overwrite, resume, vArms)));
      String probe = r.path("probe/" + v.label() + "/seed-" + seed);
      r.step("probe", probe, request(List.of("seed", "probe"), sc, Map.of()), List.of(pre, tasks),
          (overwrite, resume) -> Probe.run(spark, Probe.Options.from(sc, pre, tasks, probe, overwrite)));
      String ft = r.path("finetune/" + v.label() + "/seed-" + seed);
      r.step("finetune", ft, request(List.of("seed", "finetune"), sc, Map.of()), List.of(pre, tasks),
          (overwrite, resume) -> Finetune.run(spark, Finetune.Options.from(sc, pre, tasks, ft, overwrite, resume)));
      finetuned.add(ft);
      tasksDirs.add(tasks);
      runs.add(new Report.Run(seed, tasks, pre, probe, ft));
    }
    String eval = r.path("evaluate/" + v.label());
    List<String> evalInputs = new ArrayList<>(finetuned);
    evalInputs.addAll(tasksDirs);
    r.step("evaluate", eval, request(List.of("seed", "evaluate"), c, Map.of()), evalInputs,
        (overwrite, resume) -> Evaluate.run(spark, Evaluate.Options.from(c, finetuned, tasksDirs, eval, overwrite)));
    return new Report.Vocabulary(v.label(), shards, eval, vArms, runs);
  }

  private static void report(Runner r, Options o, List<Report.Vocabulary> reported, String report, Configuration hadoop) {
    List<String> upstream = new ArrayList<>();
    for (Report.Vocabulary v : reported) {
      upstream.add(v.shards());
      upstream.add(v.evaluate());
      for (Report.Run run : v.runs()) {
        upstream.add(run.tasks());
        upstream.add(run.pretrain());
        upstream.add(run.probe());
        upstream.add(run.finetune());
      }
    }
    Map<String, Object> reportRequest = new LinkedHashMap<>();
    reportRequest.put("name", o.name());
    reportRequest.put("conf", o.confText());
    r.step("report", report, reportRequest, upstream, (overwrite, resume) -> Report.run(
        new Report.Options(o.name(), o.confText(), reported, report, overwrite), hadoop));
  }

  /** The runs an experiment conf asks for. */
  record Grid(List<Vocabulary> vocabularies, List<String> arms, List<Long> seeds) {}

  /**
   * The experiment's grid, with every stage's settings checked: the command calls this before Spark
   * starts, so that a wrong value fails in a second with its key and leaves nothing behind.
   */
  public static Grid check(CharsightConfig c) {
    List<Vocabulary> vocabularies = new ArrayList<>();
    for (String v : c.strings("experiment.vocabularies")) vocabularies.add(Vocabulary.parse(v));
    if (vocabularies.isEmpty()) throw new UserError("experiment.vocabularies: expected at least one vocabulary");
    List<String> arms = c.strings("experiment.arms");
    List<Long> seeds = new ArrayList<>();
    for (String s : c.strings("experiment.seeds")) {
      try {
        seeds.add(Long.parseLong(s));
      } catch (NumberFormatException e) {
        throw new UserError("experiment.seeds: expected integers, got '" + s + "'");
      }
    }
    if (seeds.isEmpty()) throw new UserError("experiment.seeds: expected at least one seed");
    if (new HashSet<>(seeds).size() != seeds.size()) throw new UserError("experiment.seeds: a seed is listed twice");

    validate(c, vocabularies, arms);
    return new Grid(vocabularies, arms, seeds);
  }

  /**
   * Reads every stage's settings before anything runs, so that a bad value in the evaluate
   * section fails in a second, not after hours of pretraining. Paths are placeholders: only the
   * conf is checked here; inputs are checked by each stage when it starts.
   */
  static void validate(CharsightConfig c, List<Vocabulary> vocabularies, List<String> arms) {
    String x = "unused";
    for (Vocabulary v : vocabularies) {
      if (v.bpeSize() != null) TrainTokenizer.Options.from(c.with("train_tokenizer.vocab_size", v.bpeSize()), List.of(x), x, false);
      List<String> vArms = v.arms(arms);
      if (vArms.isEmpty()) throw new UserError("experiment.arms: no arm to train for vocabulary " + v.label());
      Pretrain.Options.from(c, x, x, false, false, vArms);
    }
    // Pretrain.Options checked every arm's model settings above.
    c.intAtLeast("prepare.context", 2);
    c.openFraction("prepare.val_fraction");
    Tasks.Options.from(c, x, x, false, null);
    Probe.Options.from(c, x, x, x, false);
    Finetune.Options.from(c, x, x, x, false);
    Evaluate.Options.from(c, List.of(x), List.of(x), x, false);
  }

  /** The conf sections a stage reads, as plain values (what its request and manifest record). */
  static Map<String, Object> sections(CharsightConfig c, String... keys) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (String k : keys) m.put(k, c.raw().getValue(k).unwrapped());
    return m;
  }

  private static Map<String, Object> request(List<String> confKeys, CharsightConfig c, Map<String, Object> args) {
    Map<String, Object> m = new LinkedHashMap<>(args);
    m.put("config", sections(c, confKeys.toArray(new String[0])));
    return m;
  }

  private static FileSystem fs(Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf);
    } catch (IOException e) {
      throw new UserError("experiment: cannot use output " + p + ": " + e.getMessage(), e);
    }
  }

  @FunctionalInterface
  interface StageRun {
    void run(boolean overwrite, boolean resume);
  }

  /** Runs or reuses steps and keeps the records that decide between the two. */
  static final class Runner {
    private final SparkSession spark;
    private final FileSystem fs;
    private final Path root;
    private final Set<String> force;
    int total;
    int done;
    int ran;
    int reused;

    Runner(SparkSession spark, FileSystem fs, Path root, Set<String> force) {
      this.spark = spark;
      this.fs = fs;
      this.root = root;
      this.force = force;
    }

    String path(String rel) {
      return new Path(root, rel).toString();
    }

    void step(String stage, String out, Map<String, Object> args, List<String> inputs, StageRun body) {
      done++;
      Map<String, Object> request = new LinkedHashMap<>();
      request.put("stage", stage);
      request.put("out", out);
      request.put("request", args);
      Map<String, Object> upstream = new LinkedHashMap<>();
      for (String in : inputs) upstream.put(in, manifestCreated(in));
      request.put("inputs", upstream);
      JsonNode wanted = normalised(request);
      String rel = root.toUri().relativize(new Path(out).toUri()).getPath();
      Path doneRecord = new Path(new Path(root, RECORDS), rel + ".done.json");
      Path startedRecord = new Path(new Path(root, RECORDS), rel + ".request.json");
      String progress = "[" + done + "/" + total + "] " + stage + " " + rel;

      JsonNode doneNode = readJson(doneRecord);
      String created = manifestCreatedOrNull(out);
      if (!force.contains(stage) && doneNode != null && created != null && wanted.equals(doneNode.path("request"))
          && created.equals(doneNode.path("manifest_created").asText())) {
        reused++;
        LOG.info("experiment {}: reused (same request, output unchanged)", progress);
        return;
      }
      // A training stage that crashed under the same request continues from its checkpoint.
      JsonNode started = readJson(startedRecord);
      boolean resume = (stage.equals("pretrain") || stage.equals("finetune")) && !force.contains(stage) && created == null && started != null
          && wanted.equals(started) && hasCheckpoint(out);
      LOG.info("experiment {}: {}", progress, resume ? "resuming from its checkpoint" : "running");
      writeJson(startedRecord, wanted);
      if (!resume) delete(new Path(out));
      spark.sparkContext().setJobGroup("charsight-" + stage, progress, false);
      body.run(true, resume);
      Map<String, Object> record = new LinkedHashMap<>();
      record.put("request", wanted);
      record.put("manifest_created", manifestCreated(out));
      writeJson(doneRecord, Manifest.json().valueToTree(record));
      ran++;
    }

    /** As it reads back from a file: numbers typed as JSON parses them, so that equal requests compare equal. */
    private static JsonNode normalised(Object value) {
      try {
        return Manifest.json().readTree(Manifest.json().writeValueAsString(value));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private boolean hasCheckpoint(String out) {
      try {
        return fs.exists(new Path(out, Pretrain.POSITION));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + out, e);
      }
    }

    private String manifestCreated(String dir) {
      String c = manifestCreatedOrNull(dir);
      if (c == null) throw new IllegalStateException("no manifest in " + dir + " after its stage ran");
      return c;
    }

    private String manifestCreatedOrNull(String dir) {
      JsonNode m = readJson(new Path(dir, Manifest.FILE));
      return m == null ? null : m.path("created").asText(null);
    }

    private JsonNode readJson(Path p) {
      try {
        if (!fs.exists(p)) return null;
        try (InputStream in = fs.open(p)) {
          return Manifest.json().readTree(in);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + p, e);
      }
    }

    private void writeJson(Path p, JsonNode node) {
      try {
        AtomicFiles.write(fs, p, Manifest.json().writeValueAsBytes(node));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + p, e);
      }
    }

    private void delete(Path p) {
      try {
        fs.delete(p, true);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot remove " + p, e);
      }
    }
  }
}
