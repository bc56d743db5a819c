package org.charsight.eval;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.charsight.common.CharsightConfig;
import org.charsight.common.CsvTable;
import org.charsight.common.Manifest;
import org.charsight.common.SerializableHadoopConf;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.model.LanguageModel;
import org.charsight.model.ModelFiles;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evaluate stage: every evaluation example answered by greedy decoding on the executors (each
 * task loads its arm's model once), scored by exact match, and summarised per arm x task x split x
 * tokens-per-word bucket with 95% bootstrap intervals. Writes predictions (Parquet),
 * results.csv, results.json and manifest.json.
 */
public final class Evaluate {
  private static final Logger LOG = LoggerFactory.getLogger(Evaluate.class);
  static final String STAGE = "evaluate";
  static final String BASELINES_HEADER = "task,split,n,most_frequent_answer,accuracy,letters_only_accuracy";
  static final StructType PREDICTIONS = new StructType()
      .add("run", DataTypes.StringType, false)
      .add("arm", DataTypes.StringType, false)
      .add("task", DataTypes.StringType, false)
      .add("split", DataTypes.StringType, false)
      .add("example", DataTypes.IntegerType, false)
      .add("word", DataTypes.StringType, false)
      .add("word_tokens", DataTypes.IntegerType, false)
      .add("answer", DataTypes.StringType, false)
      .add("output", DataTypes.StringType, false)
      .add("correct", DataTypes.BooleanType, false);

  private Evaluate() {}

  /**
   * @param models finetune outputs: one per run (seed) of the same arms; results pool them
   * @param tasks the tasks each run was fine-tuned on (its own word split): one per model, or one for all
   */
  public record Options(List<String> models, List<String> tasks, String out, boolean overwrite, int maxNewTokens,
      int maxPerGroup, int resamples, int batchSize, List<Contrast> contrasts, long seed) {

    public static Options from(CharsightConfig c, List<String> models, List<String> tasks, String out, boolean overwrite) {
      if (models == null || models.isEmpty() || tasks == null || tasks.isEmpty() || out == null) {
        throw new UserError(STAGE + ": --models, --tasks and --out are required");
      }
      if (tasks.size() != 1 && tasks.size() != models.size()) {
        throw new UserError(STAGE + ": --tasks: expected one directory, or one per --models directory (" + models.size()
            + "), got " + tasks.size());
      }
      if (new HashSet<>(models).size() != models.size()) {
        throw new UserError(STAGE + ": --models: the same directory is given twice: " + models);
      }
      return new Options(List.copyOf(models), List.copyOf(tasks), out, overwrite, c.intAtLeast("evaluate.max_new_tokens", 1),
          c.intAtLeast("evaluate.max_examples_per_task_split", 1), c.intAtLeast("evaluate.bootstrap_resamples", 100),
          c.intAtLeast("evaluate.batch_size", 1), contrasts(c), c.longAtLeast("seed", Long.MIN_VALUE));
    }

    private static List<Contrast> contrasts(CharsightConfig c) {
      List<Contrast> out = new ArrayList<>();
      for (String s : c.strings("evaluate.contrasts")) out.add(Contrast.parse("evaluate.contrasts", s));
      if (new HashSet<>(out).size() != out.size()) throw new UserError("evaluate.contrasts: a contrast is listed twice");
      return List.copyOf(out);
    }
  }

  /**
   * The fine-tuned runs being evaluated (label -> finetune directory), the tasks each was
   * fine-tuned on (label -> tasks directory) and the arms each has.
   */
  record Models(Map<String, String> runs, Map<String, String> tasks, JsonNode arms) {}

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JsonNode tasks = Manifest.read(o.tasks().get(0), jsc.hadoopConfiguration(), "tasks");
    Models models = models(o, tasks, jsc);
    Tokenizers.Spec spec = Tokenizers.parse("tokenizer of " + o.tasks().get(0), tasks.at("/tokenizer/spec").asText(),
        jsc.hadoopConfiguration());
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), jsc.hadoopConfiguration())) {
      Dataset<Row> allExamples = allExamples(spark, models);
      Dataset<Row> examples = evaluationRows(allExamples, o.maxPerGroup())
          // The window in evaluationRows leaves spark.sql.shuffle.partitions (200) partitions, and
          // every partition loads the model: a few per core is enough.
          .coalesce(Math.max(1, jsc.defaultParallelism() * 2)).cache();
      String predictions = answer(spark, examples, models, spec, o, output);
      ResultTables tables = score(spark.read().parquet(predictions), allExamples, examples, o);
      String[] results = tables.resultsCsv();
      String baselines = baselinesCsv(allExamples, examples);
      examples.unpersist();
      writeTables(output, results, tables.differencesCsv(o.contrasts()), tables, baselines);
      writeManifest(output, o, models, tasks, tables.json().size(), t0);
      output.commit();
      printSummary(tables.json(), models.runs().size());
      return Map.of("results", tables.json());
    }
  }

  /** Every run's task examples, with a column {@code run}: each run is asked about its own word split. */
  private static Dataset<Row> allExamples(SparkSession spark, Models models) {
    Dataset<Row> all = null;
    for (Map.Entry<String, String> run : models.tasks().entrySet()) {
      Dataset<Row> rows = spark.read().parquet(new Path(run.getValue(), "examples").toString())
          .withColumn("run", lit(run.getKey()));
      all = all == null ? rows : all.unionByName(rows);
    }
    return all;
  }

  /** The finetune outputs' runs and arms, checked to match each other and the tasks' tokenizer. */
  private static Models models(Options o, JsonNode tasks, JavaSparkContext jsc) {
    Map<String, String> runs = new LinkedHashMap<>();
    Map<String, String> runTasks = new LinkedHashMap<>();
    JsonNode arms = null;
    for (int i = 0; i < o.models().size(); i++) {
      String dir = o.models().get(i);
      String tasksDir = o.tasks().get(o.tasks().size() == 1 ? 0 : i);
      JsonNode models = Manifest.read(dir, jsc.hadoopConfiguration(), "finetune");
      JsonNode own = Manifest.read(tasksDir, jsc.hadoopConfiguration(), "tasks");
      if (!models.path("tokenizer").equals(own.path("tokenizer")) || !own.path("tokenizer").equals(tasks.path("tokenizer"))) {
        throw new UserError(STAGE + ": " + tasksDir + " and " + dir + " use different tokenizers");
      }
      if (arms != null && !arms.equals(models.path("arms"))) {
        throw new UserError(STAGE + ": " + dir + " has arms " + models.path("arms") + ", expected " + arms
            + " as in " + o.models().get(0));
      }
      arms = models.path("arms");
      String label = models.has("seed") ? "seed-" + models.path("seed").asText() : new Path(dir).getName();
      if (runs.containsKey(label)) label = label + "-" + runs.size();
      runs.put(label, dir);
      runTasks.put(label, tasksDir);
    }
    return new Models(runs, runTasks, arms);
  }

  /** Every arm of every run answers every evaluated question; the answers go to predictions/ (Parquet). */
  private static String answer(SparkSession spark, Dataset<Row> examples, Models models, Tokenizers.Spec spec, Options o,
      StageOutput output) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    SerializableHadoopConf conf = new SerializableHadoopConf(jsc.hadoopConfiguration());
    List<JavaRDD<Row>> parts = new ArrayList<>();
    for (Map.Entry<String, String> run : models.runs().entrySet()) {
      for (JsonNode armNode : models.arms()) {
        parts.add(decode(examples.where(col("run").equalTo(run.getKey())).javaRDD(), run.getKey(), armNode.asText(),
            new Path(new Path(run.getValue(), armNode.asText()), "model.zip").toString(), spec, o.maxNewTokens(),
            o.batchSize(), conf));
      }
    }
    JavaRDD<Row> all = parts.get(0);
    for (int i = 1; i < parts.size(); i++) all = all.union(parts.get(i));
    jsc.setJobDescription("greedy decoding");
    String predictions = output.resolve("predictions").toString();
    spark.createDataFrame(all, PREDICTIONS).write().parquet(predictions);
    return predictions;
  }

  /** The predictions grouped for the tables, with whether training asked each question where tasks name letters. */
  private static ResultTables score(Dataset<Row> predictions, Dataset<Row> allExamples, Dataset<Row> examples, Options o) {
    Map<String, Boolean> askedInTraining = hasLetters(examples)
        ? questionTrained(allExamples.where("split = 'train'"), examples) : Map.of();
    ResultTables tables = new ResultTables(o.seed(), o.resamples());
    for (Row r : predictions.select("run", "arm", "task", "split", "word_tokens", "example", "correct").collectAsList()) {
      ResultTables.Scored s = ResultTables.Scored.of(r);
      tables.add(s, askedInTraining.get(s.run() + "," + s.task() + "," + s.split() + "," + s.example()));
    }
    return tables;
  }

  /**
   * baselines.csv: what always giving a task's most frequent answer would score, the floor a model
   * must beat (50% for yes/no, more for counts, where small numbers dominate), and the letters-only
   * floor where the tasks name letters.
   */
  private static String baselinesCsv(Dataset<Row> allExamples, Dataset<Row> examples) {
    CsvTable baselines = new CsvTable(BASELINES_HEADER);
    Map<String, long[]> totals = new TreeMap<>();
    Map<String, String> majority = new TreeMap<>();
    for (Row r : examples.groupBy("task", "split", "answer").count().orderBy(col("count").desc(), col("answer"))
        .collectAsList()) {
      String key = r.getString(0) + "," + r.getString(1);
      long[] t = totals.computeIfAbsent(key, k -> new long[2]);
      if (t[0] == 0 && t[1] == 0) {
        t[1] = r.getLong(3);
        majority.put(key, r.getString(2));
      }
      t[0] += r.getLong(3);
    }
    Map<String, Double> lettersOnly = hasLetters(examples)
        ? lettersOnlyFloor(allExamples.where("split = 'train'"), examples) : Map.of();
    for (Map.Entry<String, long[]> e : totals.entrySet()) {
      String answer = majority.get(e.getKey());
      Double letters = lettersOnly.get(e.getKey());
      baselines.row(e.getKey().split(","), new String[] {Long.toString(e.getValue()[0]), answer,
          ResultTables.f4((double) e.getValue()[1] / e.getValue()[0]), letters == null ? "" : ResultTables.f4(letters)});
    }
    return baselines.text();
  }

  private static void writeTables(StageOutput output, String[] results, String differences, ResultTables tables,
      String baselines) {
    write(output.fs(), output.resolve("results.csv"), results[0]);
    write(output.fs(), output.resolve("results_by_run.csv"), results[1]);
    write(output.fs(), output.resolve("differences.csv"), differences);
    write(output.fs(), output.resolve("baselines.csv"), baselines);
    if (tables.hasByQuestion()) write(output.fs(), output.resolve("results_by_question.csv"), tables.byQuestionCsv());
    try {
      write(output.fs(), output.resolve("results.json"), new String(Manifest.json().writeValueAsBytes(tables.json()),
          StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeManifest(StageOutput output, Options o, Models models, JsonNode tasks, int groups, long t0) {
    Manifest m = new Manifest(STAGE);
    m.put("models", o.models());
    m.put("runs", models.runs());
    m.put("tasks", models.tasks());
    m.put("tokenizer", tasks.path("tokenizer"));
    m.put("arms", models.arms());
    m.put("groups", groups);
    m.put("config", Map.of("max_new_tokens", o.maxNewTokens(), "max_examples_per_task_split", o.maxPerGroup(),
        "bootstrap_resamples", o.resamples(), "contrasts", o.contrasts().stream().map(Contrast::toString).toList(),
        "holm_splits", ResultTables.HOLM_SPLITS, "seed", o.seed()));
    m.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
    m.write(output.fs(), output.dir());
  }

  /**
   * Greedy answers of one arm of one run; each partition loads the model once and decodes its
   * questions {@code batch} at a time (the same answers as one by one: {@link LanguageModel#generate(int[][], int,
   * java.util.function.BiPredicate)}).
   */
  private static JavaRDD<Row> decode(JavaRDD<Row> examples, String run, String arm, String modelPath,
      Tokenizers.Spec spec, int maxNew, int batch, SerializableHadoopConf conf) {
    return examples.mapPartitions(it -> {
      LanguageModel m = loadLocal(modelPath, conf);
      Tokenizer tok = spec.open();
      List<Row> out = new ArrayList<>();
      List<Row> pending = new ArrayList<>();
      while (it.hasNext()) {
        pending.add(it.next());
        if (pending.size() == batch || !it.hasNext()) {
          out.addAll(answer(m, tok, pending, run, arm, maxNew));
          pending.clear();
        }
      }
      return out.iterator();
    });
  }

  /** The questions' rows (columns of {@link #evaluationRows}) answered, in order, as prediction rows. */
  private static List<Row> answer(LanguageModel m, Tokenizer tok, List<Row> rows, String run, String arm, int maxNew) {
    int eot = tok.endOfText();
    int ctx = m.config().context();
    List<int[]> prompts = new ArrayList<>();
    List<Integer> fits = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      int[] prompt = rows.get(i).<Integer>getList(rows.get(i).fieldIndex("prompt_tokens")).stream()
          .mapToInt(Integer::intValue).toArray();
      // A question that alone fills the context is counted as wrong, never silently dropped.
      if (prompt.length < ctx) {
        prompts.add(prompt);
        fits.add(i);
      }
    }
    int[][] gen = m.generate(prompts.toArray(int[][]::new), maxNew,
        (row, id) -> id == eot || tok.decode(new int[] {id}).contains("\n"));
    String[] generated = new String[rows.size()];
    Arrays.fill(generated, "");
    for (int k = 0; k < gen.length; k++) {
      int[] g = gen[k];
      if (g.length > 0 && g[g.length - 1] == eot) g = Arrays.copyOf(g, g.length - 1);
      generated[fits.get(k)] = tok.decode(g);
    }
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      String answer = r.getAs("answer");
      out.add(RowFactory.create(run, arm, r.getAs("task"), r.getAs("split"), r.getAs("example"), r.getAs("word"),
          r.getAs("word_tokens"), answer, generated[i], ExactMatchScorer.correct(generated[i], answer)));
    }
    return out;
  }

  /**
   * The evaluated questions, at most maxPerGroup per run, task and split: a fixed choice spread over
   * the words by a hash (the first rows by word would be a few words, several questions each);
   * "example" numbers them so that every arm of a run is scored on the same, paired rows. Columns:
   * run, task, split, word, word_tokens, answer, prompt_tokens, example, and letters where the tasks
   * have them.
   */
  static Dataset<Row> evaluationRows(Dataset<Row> examples, int maxPerGroup) {
    List<String> columns = new ArrayList<>(List.of("run", "task", "split", "word", "word_tokens", "answer",
        "slice(tokens, 1, answer_start) as prompt_tokens",
        "cast(row_number() over (partition by run, task, split order by xxhash64(word, prompt), word, phrasing, prompt) as int) as example"));
    if (hasLetters(examples)) columns.add("letters");
    return examples.where("split <> 'train'").selectExpr(columns.toArray(new String[0])).where("example <= " + maxPerGroup);
  }

  private static boolean hasLetters(Dataset<Row> rows) {
    return Arrays.asList(rows.columns()).contains("letters");
  }

  /**
   * Per "task,split", pooling the runs: the accuracy of answering each evaluated question ({@code asked}, from
   * {@link #evaluationRows}) from the letters it names alone: the commonest {@code train} answer
   * of its run for that task and letters, or the task's commonest training answer for letters training never
   * asked. A model that learned letter statistics rather than spelling reaches this floor, e.g.
   * "does it contain q?" -> no. Tasks made before the letters column existed have none.
   */
  static Map<String, Double> lettersOnlyFloor(Dataset<Row> train, Dataset<Row> asked) {
    Dataset<Row> byLetters = train.groupBy("run", "task", "letters", "answer").count()
        .selectExpr("run as l_run", "task as l_task", "letters as l_letters", "answer as guess",
            "row_number() over (partition by run, task, letters order by count desc, answer) as r")
        .where("r = 1").drop("r");
    Dataset<Row> byTask = train.groupBy("run", "task", "answer").count()
        .selectExpr("run as t_run", "task as t_task", "answer as task_guess",
            "row_number() over (partition by run, task order by count desc, answer) as r")
        .where("r = 1").drop("r");
    Map<String, Double> out = new TreeMap<>();
    for (Row r : asked.join(byLetters, expr("run = l_run and task = l_task and letters = l_letters"), "left")
        .join(byTask, expr("run = t_run and task = t_task"), "left")
        .selectExpr("task", "split", "cast(coalesce(answer = coalesce(guess, task_guess), false) as double) as ok")
        .groupBy("task", "split").avg("ok").collectAsList()) {
      out.put(r.getString(0) + "," + r.getString(1), r.getDouble(2));
    }
    return out;
  }

  /**
   * Per "run,task,split,example" of the evaluated questions ({@code asked}, from {@link #evaluationRows}):
   * whether the run's training asked the same question of the same word (same letters, any phrasing). On
   * training words this separates answers a model can have memorised from new questions about words
   * it was trained on; for tasks that name no letters every question about a training word was asked.
   */
  static Map<String, Boolean> questionTrained(Dataset<Row> train, Dataset<Row> asked) {
    Dataset<Row> trained = train.selectExpr("run as q_run", "task as q_task", "word as q_word", "letters as q_letters")
        .distinct();
    Map<String, Boolean> out = new HashMap<>();
    for (Row r : asked.join(trained, expr("run = q_run and task = q_task and word = q_word and letters = q_letters"),
            "left")
        .selectExpr("run", "task", "split", "example", "q_task is not null").collectAsList()) {
      out.put(r.getString(0) + "," + r.getString(1) + "," + r.getString(2) + "," + r.getInt(3), r.getBoolean(4));
    }
    return out;
  }

  private static LanguageModel loadLocal(String path, SerializableHadoopConf conf) throws IOException {
    Path p = new Path(path);
    return ModelFiles.read(p.getFileSystem(conf.get()), p);
  }

  private static void write(FileSystem fs, Path p, String content) {
    try (OutputStream os = fs.create(p, true)) {
      os.write(content.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + p, e);
    }
  }

  /** Accuracy per arm and task on held-out words, the study's headline. */
  private static void printSummary(List<Map<String, Object>> rows, int runs) {
    StringBuilder sb = new StringBuilder("\nexact match, held-out words (all token counts"
        + (runs > 1 ? ", mean of " + runs + " runs" : "") + "):\n");
    for (Map<String, Object> r : rows) {
      if ("val_heldout".equals(r.get("split")) && "all".equals(r.get("tokens_bucket"))) {
        sb.append(String.format(Locale.ROOT, "  %-18s %-14s %6.1f%%  [%5.1f, %5.1f]  n=%d%n", r.get("arm"),
            r.get("task"), 100 * (double) r.get("accuracy"), 100 * (double) r.get("ci_low"),
            100 * (double) r.get("ci_high"), (int) r.get("n")));
      }
    }
    LOG.info("{}", sb);
  }
}
