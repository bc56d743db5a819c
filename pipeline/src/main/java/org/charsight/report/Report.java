package org.charsight.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.charsight.common.Manifest;
import org.charsight.common.StageOutput;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The report stage: reads what the other stages wrote (their manifests and CSV files, never their
 * internals) and draws the study's answer: first the paired contrasts (char - char-shuffled, char -
 * baseline, ...) per task on held-out words and non-words with Holm-adjusted verdicts, then the
 * setup and word splits, pretraining loss per arm (the published Fig. 3), fine-tuning LM and task
 * loss (Fig. 4), exact match per task with 95% intervals per arm and split, and accuracy against
 * vocabulary size. Writes PNG
 * charts, {@code report.md} and {@code index.html} with the same content, and a manifest.
 */
public final class Report {
  private static final Logger LOG = LoggerFactory.getLogger(Report.class);
  static final String STAGE = "report";
  static final String[] SPLITS = {"val_train_words", "val_heldout", "val_nonce", "val_pseudoword"};
  public static final Map<String, String> SPLIT_NAMES = Map.of("val_train_words", "training words", "val_heldout",
      "held-out words", "val_nonce", "nonce strings", "val_pseudoword", "pseudowords");
  /** The splits the verdicts are about: only spelling answers them (evaluate's Holm family). */
  static final List<String> SPELLING_SPLITS = List.of("val_heldout", "val_nonce", "val_pseudoword");
  private static final Map<String, Color> ARM_COLORS = Map.of("baseline", new Color(31, 119, 180), "char",
      new Color(255, 127, 14), "baseline-matched", new Color(44, 160, 44), "char-shuffled", new Color(214, 39, 40), "byte",
      new Color(148, 103, 189));

  private Report() {}

  /** One seed's stages: its tasks (its word split), pretraining, the spelling probe of it, and fine-tuning. */
  public record Run(long seed, String tasks, String pretrain, String probe, String finetune) {}

  public record Vocabulary(String label, String shards, String evaluate, List<String> arms, List<Run> runs) {}

  public record Options(String name, String confText, List<Vocabulary> vocabularies, String out, boolean overwrite) {}

  public static Map<String, Object> run(Options o, Configuration hadoop) {
    long t0 = System.nanoTime();
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), hadoop)) {
      Sections r = new Sections(o, hadoop, output);
      r.doc.heading(1, "charsight report: " + o.name());
      r.result();
      r.probe();
      r.setup();
      r.words();
      r.pretraining();
      r.finetuning();
      r.accuracy();
      r.accuracyByVocabulary();
      r.howToRead();
      r.configurationAndEnvironment();
      write(r.fs, output.resolve("report.md"), r.doc.markdown());
      write(r.fs, output.resolve("index.html"), r.doc.html("charsight report: " + o.name()));
      Manifest m = new Manifest(STAGE);
      m.put("name", o.name());
      m.put("inputs", o.vocabularies());
      m.put("charts", r.charts);
      m.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      m.write(r.fs, output.dir());
      output.commit();
      LOG.info("report: {} charts -> {}", r.charts.size(), output.target());
      return Map.of("charts", r.charts);
    }
  }

  /** The report's sections, in the order they appear, writing into one document and one chart list. */
  private static final class Sections {
    final Options o;
    final Configuration hadoop;
    final StageOutput output;
    final FileSystem fs;
    final Doc doc = new Doc();
    final List<String> charts = new ArrayList<>();
    /** Vocabulary label -> ids, from setup. */
    final Map<String, Integer> vocabSizes = new LinkedHashMap<>();
    /** Arm -> vocabulary -> mean held-out accuracy over tasks, from the accuracy section. */
    final Map<String, Map<String, Double>> meanHeldOut = new LinkedHashMap<>();

    Sections(Options o, Configuration hadoop, StageOutput output) {
      this.o = o;
      this.hadoop = hadoop;
      this.output = output;
      this.fs = output.fs();
    }

    /** Conclusion first: each contrast per task on the questions only spelling answers, with the adjusted verdicts. */
    void result() {
      doc.heading(2, "Result: paired contrasts on held-out words and non-words");
      doc.paragraph("Difference in exact match (percentage points) between two arms on the same questions, pooled over "
          + "seeds, with a 95% paired bootstrap interval (seeds, then questions). char - char-shuffled isolates the "
          + "letters: both arms read token bytes of the same lengths and statistics, only char's are the token's own. "
          + "McNemar's exact test on the questions the two arms answer differently (only one arm right: the counts "
          + "are given), adjusted with Holm's method over every row of the vocabulary's table, says whether these "
          + "trained models differ; it counts every question as independent, so one seed's large difference can "
          + "carry it. The verdict is better or worse only when the adjusted p < 0.05 and the interval over seeds "
          + "and questions excludes zero; a significant p whose interval includes zero can be a difference of "
          + "particular training runs rather than of the arm (by seed: each seed's difference); else no "
          + "detectable difference, which is not evidence of no difference.");
      for (Vocabulary v : o.vocabularies()) {
        List<List<String>> rows = new ArrayList<>();
        Map<String, Map<String, Double>> byRun = accuracyByRun(new Path(v.evaluate(), "results_by_run.csv"));
        for (Map<String, String> d : csv(fs, new Path(v.evaluate(), "differences.csv"))) {
          if (!SPELLING_SPLITS.contains(d.get("split")) || !d.get("tokens_bucket").equals("all")) continue;
          double diff = num(d.get("difference"));
          double low = num(d.get("ci_low"));
          double high = num(d.get("ci_high"));
          String cell = "," + d.get("task") + "," + d.get("split");
          rows.add(List.of(d.get("arm") + " - " + d.get("reference"), d.get("task"), SPLIT_NAMES.get(d.get("split")),
              pp(diff), "[" + pp(low) + ", " + pp(high) + "]", bySeed(byRun.get(d.get("arm") + cell),
                  byRun.get(d.get("reference") + cell)), d.get("arm_only") + " / " + d.get("reference_only"),
              d.get("p_holm"), verdict(diff, num(d.get("p_holm")), low, high), d.get("n")));
        }
        if (rows.isEmpty()) {
          doc.paragraph(v.label() + ": no contrast of evaluate.contrasts has both its arms in this run.");
        } else {
          doc.heading(3, "Vocabulary " + v.label() + " (" + rows.size() + " tests)");
          doc.table(List.of("contrast", "task", "questions", "difference", "95% interval", "by seed",
              "right only: arm / other", "p (Holm)", "verdict", "questions x seeds"), rows);
        }
      }
    }

    /** "arm,task,split" -> run -> accuracy on all of the run's questions, from evaluate's results_by_run.csv. */
    private Map<String, Map<String, Double>> accuracyByRun(Path resultsByRun) {
      Map<String, Map<String, Double>> out = new LinkedHashMap<>();
      for (Map<String, String> r : csv(fs, resultsByRun)) {
        if (!r.get("tokens_bucket").equals("all")) continue;
        out.computeIfAbsent(r.get("arm") + "," + r.get("task") + "," + r.get("split"), k -> new TreeMap<>())
            .put(r.get("run"), num(r.get("accuracy")));
      }
      return out;
    }

    /** Training and held-out words side by side: the split is fair only if they match in frequency and length. */
    void words() {
      doc.heading(2, "Words: training and held-out splits (median per seed)");
      List<List<String>> rows = new ArrayList<>();
      for (Vocabulary v : o.vocabularies()) {
        for (Run run : v.runs()) {
          JsonNode words = Manifest.read(run.tasks(), hadoop, "tasks").path("words");
          for (String split : List.of("train", "held_out", "nonce", "pseudoword")) {
            JsonNode w = words.path(split);
            rows.add(List.of(v.label(), String.valueOf(run.seed()), split.replace('_', '-'), w.path("words").asText("-"),
                w.at("/frequency/median").asText("-"), w.at("/frequency_band/median").asText("-"),
                w.at("/letters/median").asText("-"), w.at("/tokens_per_word/median").asText("-"),
                w.has("tokens_per_word") ? fmt("%.2f", w.at("/tokens_per_word/mean").asDouble()) : "-"));
          }
        }
      }
      doc.paragraph("Training and held-out words come from the same pool of frequent words by stratified sampling over "
          + "frequency band x length, drawn per seed; nonce strings are random consonants and pseudowords follow "
          + "the words' letter bigrams, none a corpus word. Tokens per word are counted as the quoted prompt holds the word.");
      doc.table(List.of("vocabulary", "seed", "words", "count", "corpus frequency", "frequency band (0 = commonest)",
          "letters", "tokens per word", "mean tokens"), rows);
    }

    /** The spelling probe: what each arm's input vectors say about their tokens' letters. */
    void probe() {
      doc.heading(2, "Spelling probe: what the input vectors hold about their tokens' letters");
      doc.paragraph("Linear probes (logistic regression) read each pretrained arm's input vector for a token (what the "
          + "first block receives) and predict whether each letter a-z is in the token (26 probes, accuracy averaged), "
          + "its first letter and its length in letters. They train on the tokens of training words and are scored on "
          + "tokens no training word has (the held-out words' own first, then others of the vocabulary), with a 95% "
          + "bootstrap interval over those tokens; 'floor' is always answering the commonest training label. For char arms "
          + "the char encoder's own output is probed too ('char encoder'): the LSTM reads the token's bytes, so letters it "
          + "passes on but the input vector does not show are drowned in the sum with the token embedding, and letters "
          + "it does not pass on were never in the input.");
      List<List<String>> rows = new ArrayList<>();
      for (Vocabulary v : o.vocabularies()) {
        for (Run run : v.runs()) {
          if (run.probe() == null) continue;
          for (Map<String, String> p : csv(fs, new Path(run.probe(), "probe.csv"))) {
            rows.add(List.of(v.label(), String.valueOf(run.seed()), p.get("arm"), p.get("vector").replace('_', ' '),
                p.get("target").replace('_', ' '),
                pct(num(p.get("accuracy"))) + " [" + pct(num(p.get("ci_low"))) + ", " + pct(num(p.get("ci_high"))) + "]",
                pct(num(p.get("floor"))), fmt("%.3f", num(p.get("macro_f1"))), p.get("train_tokens") + " / " + p.get("test_tokens")));
          }
        }
      }
      if (rows.isEmpty()) {
        doc.paragraph("No probe was run.");
      } else {
        doc.table(List.of("vocabulary", "seed", "arm", "vector", "probe", "accuracy % [95%]", "floor %", "macro-F1",
            "tokens: train / test"), rows);
      }
    }

    /** What each vocabulary did to words, model sizes, data seen. */
    void setup() {
      doc.heading(2, "Setup");
      List<List<String>> setup = new ArrayList<>();
      for (Vocabulary v : o.vocabularies()) {
        JsonNode shards = Manifest.read(v.shards(), hadoop, "prepare");
        JsonNode tasks = Manifest.read(v.runs().get(0).tasks(), hadoop, "tasks");
        JsonNode pre = Manifest.read(v.runs().get(0).pretrain(), hadoop, "pretrain");
        vocabSizes.put(v.label(), shards.at("/tokenizer/vocab_size").asInt());
        List<String> params = new ArrayList<>();
        pre.path("parameters").fields().forEachRemaining(e -> params.add(e.getKey() + " " + e.getValue().asText()));
        setup.add(List.of(v.label(), shards.at("/tokenizer/vocab_size").asText(),
            fmt("%.2f", shards.path("bytes_per_token").asDouble()),
            fmt("%.2f", tasks.at("/words/held_out/tokens_per_word/mean").asDouble()), shards.path("context").asText(),
            String.join(", ", params), String.valueOf(v.runs().size())));
      }
      doc.table(List.of("vocabulary", "ids", "bytes per token", "tokens per held-out word", "context",
          "parameters per arm", "seeds"), setup);
    }

    /** The published Fig. 3. */
    void pretraining() {
      doc.heading(2, "Pretraining: validation loss per arm");
      for (Vocabulary v : o.vocabularies()) {
        XYChart chart = lineChart("Pretraining, " + v.label(), "tokens seen per arm", "validation loss (nats/token)");
        List<List<String>> rows = new ArrayList<>();
        for (Run run : v.runs()) {
          for (String arm : v.arms()) {
            List<Map<String, String>> m = csv(fs, new Path(new Path(run.pretrain(), arm), "metrics.csv"));
            addLine(chart, arm, run, v, series(m, "tokens", "val_loss"));
            Map<String, String> last = m.isEmpty() ? Map.of() : m.get(m.size() - 1);
            rows.add(List.of(arm, String.valueOf(run.seed()), last.getOrDefault("round", "-"), last.getOrDefault("tokens", "-"),
                last.getOrDefault("val_loss", "-"), last.getOrDefault("wall_s", "-")));
          }
        }
        charts.add(save(fs, output, chart, "pretrain-loss-" + v.label() + ".png", doc));
        doc.table(List.of("arm", "seed", "rounds", "tokens", "final validation loss", "wall s"), rows);
      }
    }

    /** The published Fig. 4. */
    void finetuning() {
      doc.heading(2, "Fine-tuning: language-model and task validation loss per arm");
      for (Vocabulary v : o.vocabularies()) {
        XYChart lm = lineChart("Fine-tuning LM loss, " + v.label(), "round", "LM validation loss");
        XYChart task = lineChart("Fine-tuning task loss (answer tokens), " + v.label(), "round", "task validation loss");
        List<List<String>> rows = new ArrayList<>();
        for (Run run : v.runs()) {
          for (String arm : v.arms()) {
            List<Map<String, String>> m = csv(fs, new Path(new Path(run.finetune(), arm), "metrics.csv"));
            addLine(lm, arm, run, v, series(m, "round", "lm_val_loss"));
            addLine(task, arm, run, v, series(m, "round", "task_val_loss"));
            Map<String, String> last = m.isEmpty() ? Map.of() : m.get(m.size() - 1);
            rows.add(List.of(arm, String.valueOf(run.seed()), last.getOrDefault("round", "-"),
                last.getOrDefault("lm_val_loss", "-"), last.getOrDefault("task_val_loss", "-")));
          }
        }
        charts.add(save(fs, output, lm, "finetune-lm-loss-" + v.label() + ".png", doc));
        charts.add(save(fs, output, task, "finetune-task-loss-" + v.label() + ".png", doc));
        doc.table(List.of("arm", "seed", "rounds", "final LM loss", "final task loss"), rows);
      }
    }

    /** Exact match per task, arm and split, with intervals: a chart per split, then a table with the floors. */
    void accuracy() {
      doc.heading(2, "Exact match per task (greedy decoding), 95% bootstrap intervals");
      for (Vocabulary v : o.vocabularies()) {
        List<Map<String, String>> results = csv(fs, new Path(v.evaluate(), "results.csv"));
        Set<String> tasks = new LinkedHashSet<>();
        results.stream().filter(Report::allTokens).forEach(r -> tasks.add(r.get("task")));
        List<String> taskList = new ArrayList<>(tasks);
        Path floorFile = new Path(v.evaluate(), "baselines.csv");
        List<Map<String, String>> floors = exists(fs, floorFile) ? csv(fs, floorFile) : List.of();
        for (String split : SPLITS) accuracyChart(v, results, floors, taskList, split);
        accuracyTable(v, results, floors, taskList);
        for (String arm : v.arms()) {
          results.stream().filter(r -> allTokens(r) && r.get("arm").equals(arm) && r.get("split").equals("val_heldout"))
              .mapToDouble(r -> num(r.get("accuracy"))).average()
              .ifPresent(mean -> meanHeldOut.computeIfAbsent(arm, k -> new LinkedHashMap<>()).put(v.label(), mean));
        }
      }
    }

    private void accuracyChart(Vocabulary v, List<Map<String, String>> results, List<Map<String, String>> floors,
        List<String> taskList, String split) {
      IntervalChart chart = new IntervalChart("Exact match, " + SPLIT_NAMES.get(split) + ", " + v.label()
          + " (95% intervals)", taskList);
      if (!floors.isEmpty()) {
        double[] floor = new double[taskList.size()];
        for (int t = 0; t < floor.length; t++) floor[t] = floor(floors, taskList.get(t), split);
        chart.floor(floor);
      }
      for (String arm : v.arms()) {
        double[][] acc = new double[3][taskList.size()];
        for (double[] a : acc) Arrays.fill(a, Double.NaN);
        for (Map<String, String> r : results) {
          if (!allTokens(r) || !r.get("arm").equals(arm) || !r.get("split").equals(split)) continue;
          int t = taskList.indexOf(r.get("task"));
          acc[0][t] = num(r.get("accuracy"));
          acc[1][t] = num(r.get("ci_low"));
          acc[2][t] = num(r.get("ci_high"));
        }
        chart.add(new IntervalChart.Series(arm, ARM_COLORS.getOrDefault(arm, Color.GRAY), acc[0], acc[1], acc[2]));
      }
      charts.add(save(fs, output, chart, "accuracy-" + v.label() + "-" + split + ".png", doc));
    }

    /** Accuracy per task, arm and split beside the floor, what always answering without spelling scores. */
    private void accuracyTable(Vocabulary v, List<Map<String, String>> results, List<Map<String, String>> floors,
        List<String> taskList) {
      List<String> header = new ArrayList<>(List.of("task"));
      for (String split : SPLITS) {
        for (String arm : v.arms()) header.add(arm + ", " + SPLIT_NAMES.get(split));
        if (!floors.isEmpty()) header.add("floor, " + SPLIT_NAMES.get(split));
      }
      List<List<String>> rows = new ArrayList<>();
      for (String t : taskList) {
        List<String> row = new ArrayList<>(List.of(t));
        for (String split : SPLITS) {
          for (String arm : v.arms()) {
            row.add(results.stream().filter(r -> allTokens(r) && r.get("task").equals(t) && r.get("arm").equals(arm)
                    && r.get("split").equals(split)).findFirst()
                .map(r -> pct(num(r.get("accuracy"))) + " [" + pct(num(r.get("ci_low"))) + ", " + pct(num(r.get("ci_high")))
                    + "]")
                .orElse("-"));
          }
          if (!floors.isEmpty()) {
            row.add(pct(floor(floors, t, split)));
          }
        }
        rows.add(row);
      }
      doc.heading(3, "Vocabulary " + v.label() + ": accuracy % [95% interval]");
      if (!floors.isEmpty()) {
        doc.paragraph("'Floor' is the better of two answers that need no spelling: always the task's commonest "
            + "answer in that split, and the commonest training answer for the letters a question names (e.g. "
            + "\"does it contain q?\" -> no). A model has to beat it to show that it reads the word's letters "
            + "(baselines.csv has both).");
      }
      doc.table(header, rows);
    }

    void accuracyByVocabulary() {
      doc.heading(2, "Accuracy against vocabulary size");
      XYChart byVocab = lineChart("Mean exact match over tasks, held-out words", "vocabulary size (ids, log scale)",
          "mean accuracy");
      byVocab.getStyler().setXAxisLogarithmic(true);
      byVocab.getStyler().setYAxisMin(0.0);
      List<List<String>> vocabRows = new ArrayList<>();
      for (Map.Entry<String, Map<String, Double>> e : meanHeldOut.entrySet()) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (Map.Entry<String, Double> p : e.getValue().entrySet()) {
          xs.add((double) vocabSizes.get(p.getKey()));
          ys.add(p.getValue());
          vocabRows.add(List.of(e.getKey(), p.getKey(), String.valueOf(vocabSizes.get(p.getKey())), pct(p.getValue())));
        }
        XYSeries s = byVocab.addSeries(e.getKey(), xs, ys);
        s.setMarker(SeriesMarkers.CIRCLE);
        s.setLineColor(ARM_COLORS.getOrDefault(e.getKey(), Color.GRAY));
        s.setMarkerColor(ARM_COLORS.getOrDefault(e.getKey(), Color.GRAY));
      }
      charts.add(save(fs, output, byVocab, "accuracy-vs-vocabulary.png", doc));
      doc.table(List.of("arm", "vocabulary", "ids", "mean accuracy %"), vocabRows);
    }

    void howToRead() {
      doc.heading(2, "How to read this");
      doc.paragraph("Train words appear in fine-tuning questions; held-out words never do; nonce strings (random "
          + "consonants) and pseudowords (letter bigrams of real words) are no corpus word, so only spelling (not "
          + "memory) can answer them. Intervals resample seeds, then questions "
          + "within each seed. Each stage's inputs, configuration and counts are in its manifest.json; the CSV files "
          + "behind every chart are in the run directory (notebooks/analysis.ipynb redraws them).");
    }

    void configurationAndEnvironment() {
      doc.heading(2, "Configuration");
      doc.code(o.confText());
      doc.heading(2, "Environment");
      List<List<String>> env = new ArrayList<>();
      Manifest.versions().forEach((k, val) -> env.add(List.of(k, val)));
      env.add(List.of("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
          + System.getProperty("os.arch")));
      env.add(List.of("driver cores", String.valueOf(Runtime.getRuntime().availableProcessors())));
      env.add(List.of("driver max heap", (Runtime.getRuntime().maxMemory() >> 20) + " MiB"));
      env.add(List.of("nd4j backend", Nd4j.getBackend().getClass().getSimpleName()));
      doc.table(List.of("what", "version"), env);
    }
  }

  /**
   * The floor a task and split's accuracy must beat: the better of always the commonest answer and
   * the letters-only answer (baselines.csv); NaN when unknown.
   */
  private static double floor(List<Map<String, String>> floors, String task, String split) {
    return floors.stream().filter(f -> f.get("task").equals(task) && f.get("split").equals(split)).findFirst()
        .map(f -> Math.max(num(f.get("accuracy")), lettersOnly(f))).orElse(Double.NaN);
  }

  /** A results row over all tokens-per-word buckets. */
  private static boolean allTokens(Map<String, String> r) {
    return r.get("tokens_bucket").equals("all");
  }

  private static XYChart lineChart(String title, String x, String y) {
    XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(x).yAxisTitle(y).build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    c.getStyler().setMarkerSize(5);
    return c;
  }

  /** One line per arm and seed; seeds after the first are dashed so the arm's colour still reads. */
  private static void addLine(XYChart chart, String arm, Run run, Vocabulary v, double[][] xy) {
    if (xy[0].length == 0) return;
    String name = v.runs().size() > 1 ? arm + " seed " + run.seed() : arm;
    XYSeries s = chart.addSeries(name, xy[0], xy[1]);
    s.setMarker(SeriesMarkers.NONE);
    s.setLineColor(ARM_COLORS.getOrDefault(arm, Color.GRAY));
    if (run != v.runs().get(0)) {
      s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
    }
  }

  private static double[][] series(List<Map<String, String>> rows, String x, String y) {
    List<double[]> points = new ArrayList<>();
    for (Map<String, String> r : rows) {
      double yy = num(r.get(y));
      if (!Double.isNaN(yy)) points.add(new double[] {num(r.get(x)), yy});
    }
    double[][] out = new double[2][points.size()];
    for (int i = 0; i < points.size(); i++) {
      out[0][i] = points.get(i)[0];
      out[1][i] = points.get(i)[1];
    }
    return out;
  }

  private static String save(FileSystem fs, StageOutput output, XYChart chart, String name, Doc doc) {
    try (OutputStream os = fs.create(output.resolve(name), true)) {
      BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write chart " + name, e);
    }
    doc.image(name, chart.getTitle());
    return name;
  }

  private static String save(FileSystem fs, StageOutput output, IntervalChart chart, String name, Doc doc) {
    try (OutputStream os = fs.create(output.resolve(name), true)) {
      chart.writePng(os);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write chart " + name, e);
    }
    doc.image(name, chart.title());
    return name;
  }

  /** A small CSV file (one header line, no quoted commas: what charsight's stages write). */
  /** A CSV file with a header as rows of column -> value (quoted fields, such as answers with commas, read whole). */
  static List<Map<String, String>> csv(FileSystem fs, Path p) {
    CsvParserSettings settings = new CsvParserSettings();
    settings.setHeaderExtractionEnabled(true);
    settings.getFormat().setLineSeparator("\n");
    settings.setIgnoreLeadingWhitespaces(false);
    settings.setIgnoreTrailingWhitespaces(false);
    settings.setNullValue("");
    settings.setEmptyValue("");
    List<Map<String, String>> rows = new ArrayList<>();
    try (Reader r = new InputStreamReader(fs.open(p), StandardCharsets.UTF_8)) {
      CsvParser parser = new CsvParser(settings);
      parser.beginParsing(r);
      String[] keys = parser.getRecordMetadata().headers();
      for (String[] f; (f = parser.parseNext()) != null; ) {
        Map<String, String> row = new LinkedHashMap<>();
        for (int i = 0; keys != null && i < keys.length && i < f.length; i++) row.put(keys[i], f[i]);
        rows.add(row);
      }
      parser.stopParsing();
    } catch (IOException e) {
      throw new UncheckedIOException("report: cannot read " + p, e);
    }
    return rows;
  }

  private static boolean exists(FileSystem fs, Path p) {
    try {
      return fs.exists(p);
    } catch (IOException e) {
      throw new UncheckedIOException("report: cannot read " + p, e);
    }
  }

  /** baselines.csv's letters-only floor; 0 where the tasks predate it. */
  private static double lettersOnly(Map<String, String> floor) {
    String v = floor.get("letters_only_accuracy");
    return v == null || v.isEmpty() ? 0 : num(v);
  }

  /**
   * better / worse only when the pooled questions differ (Holm-adjusted McNemar p < 0.05) and so do the seeds
   * (the paired interval over seeds, then questions, excludes zero); pooled questions alone can be one seed's run.
   */
  static String verdict(double difference, double pHolm, double ciLow, double ciHigh) {
    if (!(pHolm < 0.05)) return "no detectable difference";
    if (ciLow <= 0 && ciHigh >= 0) return "pooled p < 0.05, interval includes 0";
    return difference > 0 ? "better" : "worse";
  }

  /** Each seed's paired difference in points, in the runs' order: "-2.3 / +12.8"; "-" without per-run rows. */
  static String bySeed(Map<String, Double> arm, Map<String, Double> reference) {
    if (arm == null || reference == null || !arm.keySet().equals(reference.keySet())) return "-";
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Double> e : arm.entrySet()) out.add(pp(e.getValue() - reference.get(e.getKey())));
    return String.join(" / ", out);
  }

  private static double num(String s) {
    if (s == null || s.isEmpty()) return Double.NaN;
    return Double.parseDouble(s);
  }

  private static String fmt(String f, double v) {
    return String.format(Locale.ROOT, f, v);
  }

  private static String pct(double v) {
    return Double.isNaN(v) ? "-" : fmt("%.1f", 100 * v);
  }

  private static String pp(double v) {
    return Double.isNaN(v) ? "-" : fmt("%+.1f", 100 * v);
  }

  private static void write(FileSystem fs, Path p, String text) {
    try (OutputStream os = fs.create(p, true)) {
      os.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + p, e);
    }
  }
}
