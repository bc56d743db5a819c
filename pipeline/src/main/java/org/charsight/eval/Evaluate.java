package org.charsight.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.SerializableHadoopConf;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.model.LanguageModel;
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
  static final String RESULTS_HEADER = "arm,task,split,tokens_bucket,n,correct,accuracy,ci_low,ci_high";
  static final StructType PREDICTIONS = new StructType()
      .add("arm", DataTypes.StringType, false)
      .add("task", DataTypes.StringType, false)
      .add("split", DataTypes.StringType, false)
      .add("word", DataTypes.StringType, false)
      .add("word_tokens", DataTypes.IntegerType, false)
      .add("answer", DataTypes.StringType, false)
      .add("output", DataTypes.StringType, false)
      .add("correct", DataTypes.BooleanType, false);

  private Evaluate() {}

  public record Options(String models, String tasks, String out, boolean overwrite, int maxNewTokens, int maxPerGroup,
      int resamples, long seed) {

    public static Options from(CharsightConfig c, String models, String tasks, String out, boolean overwrite) {
      if (models == null || tasks == null || out == null) {
        throw new UserError(STAGE + ": --models, --tasks and --out are required");
      }
      return new Options(models, tasks, out, overwrite, c.intAtLeast("evaluate.max_new_tokens", 1),
          c.intAtLeast("evaluate.max_examples_per_task_split", 1), c.intAtLeast("evaluate.bootstrap_resamples", 100),
          c.longAtLeast("seed", Long.MIN_VALUE));
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JsonNode models = Manifest.read(o.models(), jsc.hadoopConfiguration(), "finetune");
    JsonNode tasks = Manifest.read(o.tasks(), jsc.hadoopConfiguration(), "tasks");
    if (!models.path("tokenizer").equals(tasks.path("tokenizer"))) {
      throw new UserError(STAGE + ": " + o.tasks() + " and " + o.models() + " use different tokenizers");
    }
    Tokenizers.Spec spec = Tokenizers.parse("tokenizer of " + o.tasks(), tasks.at("/tokenizer/spec").asText(),
        jsc.hadoopConfiguration());
    SerializableHadoopConf conf = new SerializableHadoopConf(jsc.hadoopConfiguration());
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), jsc.hadoopConfiguration())) {
      // Evaluation rows, at most maxPerGroup per task and split (first by word, a fixed choice).
      var examples = spark.read().parquet(new Path(o.tasks(), "examples").toString()).where("split <> 'train'")
          .selectExpr("task", "split", "word", "word_tokens", "answer", "slice(tokens, 1, answer_start) as prompt_tokens",
              "row_number() over (partition by task, split order by word, phrasing) as rank")
          .where("rank <= " + o.maxPerGroup()).drop("rank");
      List<JavaRDD<Row>> parts = new ArrayList<>();
      for (JsonNode armNode : models.path("arms")) {
        String arm = armNode.asText();
        String modelPath = new Path(new Path(o.models(), arm), "model.zip").toString();
        int maxNew = o.maxNewTokens();
        parts.add(examples.javaRDD().mapPartitions(it -> {
          LanguageModel m = loadLocal(modelPath, conf);
          Tokenizer tok = spec.open();
          int eot = tok.endOfText();
          int ctx = m.config().context();
          List<Row> out = new ArrayList<>();
          while (it.hasNext()) {
            Row r = it.next();
            List<Integer> p = r.getList(5);
            int[] prompt = p.stream().mapToInt(Integer::intValue).toArray();
            String answer = r.getString(4);
            String generated;
            if (prompt.length >= ctx) {
              generated = ""; // the question alone fills the context: counted as wrong, never silently dropped
            } else {
              int[] gen = m.generate(prompt, maxNew, id -> id == eot || tok.decode(new int[] {id}).contains("\n"));
              if (gen.length > 0 && gen[gen.length - 1] == eot) gen = Arrays.copyOf(gen, gen.length - 1);
              generated = tok.decode(gen);
            }
            out.add(RowFactory.create(arm, r.getString(0), r.getString(1), r.getString(2), r.getInt(3), answer, generated,
                ExactMatchScorer.correct(generated, answer)));
          }
          return out.iterator();
        }));
      }
      JavaRDD<Row> all = parts.get(0);
      for (int i = 1; i < parts.size(); i++) all = all.union(parts.get(i));
      jsc.setJobDescription("greedy decoding");
      String predictions = output.resolve("predictions").toString();
      spark.createDataFrame(all, PREDICTIONS).write().parquet(predictions);

      // Scores: small (one boolean per example), so they are summarised on the driver.
      Map<String, List<Boolean>> groups = new TreeMap<>();
      for (Row r : spark.read().parquet(predictions).select("arm", "task", "split", "word_tokens", "correct").collectAsList()) {
        String bucket = ExactMatchScorer.tokensBucket(r.getInt(3));
        for (String b : new String[] {bucket, "all"}) {
          groups.computeIfAbsent(r.getString(0) + "," + r.getString(1) + "," + r.getString(2) + "," + b,
              k -> new ArrayList<>()).add(r.getBoolean(4));
        }
      }
      StringBuilder csv = new StringBuilder(RESULTS_HEADER).append('\n');
      List<Map<String, Object>> json = new ArrayList<>();
      int g = 0;
      for (Map.Entry<String, List<Boolean>> e : groups.entrySet()) {
        boolean[] outcomes = new boolean[e.getValue().size()];
        for (int i = 0; i < outcomes.length; i++) outcomes[i] = e.getValue().get(i);
        ExactMatchScorer.Accuracy a = ExactMatchScorer.accuracy(outcomes, o.seed() + g++, o.resamples());
        csv.append(e.getKey()).append(String.format(java.util.Locale.ROOT, ",%d,%d,%.4f,%.4f,%.4f%n", a.n(), a.correct(),
            a.accuracy(), a.low(), a.high()));
        String[] k = e.getKey().split(",");
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("arm", k[0]);
        row.put("task", k[1]);
        row.put("split", k[2]);
        row.put("tokens_bucket", k[3]);
        row.put("n", a.n());
        row.put("correct", a.correct());
        row.put("accuracy", a.accuracy());
        row.put("ci_low", a.low());
        row.put("ci_high", a.high());
        json.add(row);
      }
      write(output.fs(), output.resolve("results.csv"), csv.toString().getBytes(StandardCharsets.UTF_8));
      try {
        write(output.fs(), output.resolve("results.json"), Manifest.json().writeValueAsBytes(json));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Manifest m = new Manifest(STAGE);
      m.put("models", o.models());
      m.put("tasks", o.tasks());
      m.put("arms", models.path("arms"));
      m.put("groups", json.size());
      m.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      m.write(output.fs(), output.dir());
      output.commit();
      printSummary(json);
      return Map.of("results", json);
    }
  }

  private static LanguageModel loadLocal(String path, SerializableHadoopConf conf) throws IOException {
    File local = File.createTempFile("charsight-eval-", ".zip");
    try {
      Path p = new Path(path);
      p.getFileSystem(conf.get()).copyToLocalFile(false, p, new Path(local.toURI()), true);
      return LanguageModel.load(local);
    } finally {
      if (!local.delete()) local.deleteOnExit();
    }
  }

  private static void write(FileSystem fs, Path p, byte[] content) {
    try (OutputStream os = fs.create(p, true)) {
      os.write(content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + p, e);
    }
  }

  /** Accuracy per arm and task on held-out words, the study's headline. */
  private static void printSummary(List<Map<String, Object>> rows) {
    StringBuilder sb = new StringBuilder("\nexact match, held-out words (all token counts):\n");
    for (Map<String, Object> r : rows) {
      if ("val_heldout".equals(r.get("split")) && "all".equals(r.get("tokens_bucket"))) {
        sb.append(String.format(java.util.Locale.ROOT, "  %-18s %-14s %6.1f%%  [%5.1f, %5.1f]  n=%d%n", r.get("arm"),
            r.get("task"), 100 * (double) r.get("accuracy"), 100 * (double) r.get("ci_low"),
            100 * (double) r.get("ci_high"), (int) r.get("n")));
      }
    }
    LOG.info("{}", sb);
  }
}
