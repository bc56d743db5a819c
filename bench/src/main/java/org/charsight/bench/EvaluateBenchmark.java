package org.charsight.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.Manifest;
import org.charsight.model.LanguageModel;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;

/**
 * Greedy decoding throughput, questions per second: one question at a time (how evaluate answered
 * before) against {@code batch} at a time, in alternation, on a fine-tuned model and the evaluation
 * questions of its tasks, in this one process on one Spark-free thread pool. Checks that both give
 * the same answers. Prints a Markdown table row per round.
 * Args: model.zip, tasks dir, questions (400), batch (64), max new tokens (24), rounds (3).
 */
public final class EvaluateBenchmark {
  public static void main(String[] args) throws Exception {
    File modelFile = new File(args[0]);
    String tasks = args[1];
    int n = args.length > 2 ? Integer.parseInt(args[2]) : 400;
    int batch = args.length > 3 ? Integer.parseInt(args[3]) : 64;
    int maxNew = args.length > 4 ? Integer.parseInt(args[4]) : 24;
    int rounds = args.length > 5 ? Integer.parseInt(args[5]) : 3;
    SparkSession spark = SparkSession.builder().master("local[1]").appName("evaluate bench")
        .config("spark.ui.enabled", "false").getOrCreate();
    JsonNode manifest = Manifest.read(tasks, spark.sparkContext().hadoopConfiguration(), "tasks");
    Tokenizer tok = Tokenizers.parse("tokenizer of " + tasks, manifest.at("/tokenizer/spec").asText(),
        spark.sparkContext().hadoopConfiguration()).open();
    List<Row> rows = spark.read().parquet(tasks + "/examples").where("split <> 'train'")
        .selectExpr("slice(tokens, 1, answer_start) as prompt", "xxhash64(word, prompt) as h").orderBy("h").limit(n)
        .collectAsList();
    spark.stop();
    LanguageModel m = LanguageModel.load(modelFile);
    int[][] prompts = rows.stream().map(r -> r.<Integer>getList(0).stream().mapToInt(Integer::intValue).toArray())
        .filter(p -> p.length < m.config().context()).toArray(int[][]::new);
    int eot = tok.endOfText();
    System.out.printf(Locale.ROOT, "# %s: %d questions, batch %d, at most %d new tokens, %s threads%n", modelFile,
        prompts.length, batch, maxNew, System.getenv().getOrDefault("OMP_NUM_THREADS", "?"));
    System.out.println("| round | one at a time, questions/s | batched, questions/s | ratio |");
    System.out.println("|---|---|---|---|");
    for (int r = 1; r <= rounds; r++) {
      long t0 = System.nanoTime();
      int[][] alone = new int[prompts.length][];
      for (int i = 0; i < prompts.length; i++) {
        alone[i] = m.generate(prompts[i], maxNew, id -> id == eot || tok.decode(new int[] {id}).contains("\n"));
      }
      double single = prompts.length / ((System.nanoTime() - t0) / 1e9);
      long t1 = System.nanoTime();
      int[][] together = new int[prompts.length][];
      for (int from = 0; from < prompts.length; from += batch) {
        int[][] part = Arrays.copyOfRange(prompts, from, Math.min(prompts.length, from + batch));
        int[][] got = m.generate(part, maxNew, (row, id) -> id == eot || tok.decode(new int[] {id}).contains("\n"));
        System.arraycopy(got, 0, together, from, got.length);
      }
      double batched = prompts.length / ((System.nanoTime() - t1) / 1e9);
      for (int i = 0; i < prompts.length; i++) {
        if (!Arrays.equals(alone[i], together[i])) throw new AssertionError("question " + i + " answered differently");
      }
      System.out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.1fx |%n", r, single, batched, batched / single);
    }
  }
}
