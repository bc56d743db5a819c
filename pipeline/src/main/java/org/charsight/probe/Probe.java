package org.charsight.probe;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.AtomicFiles;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.SparkProgress;
import org.charsight.common.StableHash;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.model.Arch;
import org.charsight.model.LanguageModel;
import org.charsight.model.ModelFiles;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe stage: how much of a token's spelling each pretrained arm's input representation holds,
 * the direct measurement behind "the model does not know its tokens' letters". For every token of
 * the vocabulary, the vector the first block receives ({@link LanguageModel#inputEmbeddings}) and,
 * for char arms, the char encoder's output alone ({@link LanguageModel#charEncoderVectors}: does the
 * LSTM pass the letters on at all, or are they lost in the sum with the token embedding?), and
 * linear probes ({@link SpellingProbe}) trained on the tokens of training words and scored on tokens
 * no training word has ({@link #tokens}). Writes probe.csv and manifest.json.
 */
public final class Probe {
  private static final Logger LOG = LoggerFactory.getLogger(Probe.class);
  static final String STAGE = "probe";

  private Probe() {}

  /** @param models a pretrain output: every arm in it is probed */
  public record Options(String models, String tasks, String out, boolean overwrite, double regParam, int resamples,
      int maxTest, long seed, long progressMs) {

    public static Options from(CharsightConfig c, String models, String tasks, String out, boolean overwrite) {
      if (models == null || tasks == null || out == null) throw new UserError(STAGE + ": --models, --tasks and --out are required");
      double reg = c.number("probe.reg_param");
      if (!(reg >= 0)) throw new UserError("probe.reg_param: expected a number from 0 up, got " + reg);
      return new Options(models, tasks, out, overwrite, reg, c.intAtLeast("probe.bootstrap_resamples", 100),
          c.intAtLeast("probe.max_test_tokens", 1), c.longAtLeast("seed", Long.MIN_VALUE),
          c.longAtLeast("progress.interval_ms", 100));
    }
  }

  /**
   * Token ids and their letters: the probes' training tokens (from training words) and test tokens
   * (none a training word's), of which the first {@code fromHeldOutWords} are held-out words' tokens.
   */
  record Tokens(int[] trainIds, List<String> trainLetters, int[] testIds, List<String> testLetters, int fromHeldOutWords) {}

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    var hadoop = spark.sparkContext().hadoopConfiguration();
    JsonNode pre = Manifest.read(o.models(), hadoop, "pretrain");
    JsonNode tasks = Manifest.read(o.tasks(), hadoop, "tasks");
    if (!pre.path("tokenizer").equals(tasks.path("tokenizer"))) {
      throw new UserError(STAGE + ": " + o.tasks() + " and " + o.models() + " use different tokenizers");
    }
    Tokenizer tok = Tokenizers.parse("tokenizer of " + o.tasks(), tasks.at("/tokenizer/spec").asText(), hadoop).open();
    Tokens tokens = tokens(spark, o.tasks(), tok, o.maxTest(), o.seed());
    if (tokens.testIds().length == 0) {
      LOG.warn("{}: every token with a letter is a training word's in {}: the probes have nothing to be tested on", STAGE,
          o.tasks());
    }
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), hadoop)) {
      List<SpellingProbe.Score> scores = new ArrayList<>();
      List<String> arms = new ArrayList<>();
      pre.path("arms").forEach(a -> arms.add(a.asText()));
      ProbeProgress progress = new ProbeProgress(arms.size() + (int) arms.stream().filter(Probe::hasCharEncoder).count(),
          o.progressMs());
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      // Each probe is a few one-task Spark jobs: the stage reports probes instead.
      jsc.setLocalProperty(SparkProgress.QUIET, "true");
      try {
        for (String arm : arms) scores.addAll(probeArm(spark, o, tokens, arm, progress));
      } finally {
        jsc.setLocalProperty(SparkProgress.QUIET, null);
      }
      try {
        AtomicFiles.write(output.fs(), output.resolve("probe.csv"), SpellingProbe.csv(scores).getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + output.resolve("probe.csv"), e);
      }
      Manifest m = new Manifest(STAGE);
      m.put("models", o.models());
      m.put("tasks", o.tasks());
      m.put("tokenizer", tasks.path("tokenizer"));
      m.put("arms", arms);
      m.put("tokens", Map.of("train", tokens.trainIds().length, "test", tokens.testIds().length,
          "test_from_held_out_words", tokens.fromHeldOutWords()));
      m.put("config", Map.of("reg_param", o.regParam(), "bootstrap_resamples", o.resamples(), "max_test_tokens",
          o.maxTest(), "seed", o.seed()));
      m.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      m.write(output.fs(), output.dir());
      output.commit();
      printSummary(scores);
      return Map.of("scores", scores.size());
    }
  }

  private static List<SpellingProbe.Score> probeArm(SparkSession spark, Options o, Tokens tokens, String arm,
      ProbeProgress progress) {
    var hadoop = spark.sparkContext().hadoopConfiguration();
    Path file = new Path(new Path(o.models(), arm), "model.zip");
    LanguageModel model = ModelFiles.read(fileSystem(file, hadoop), file);
    List<SpellingProbe.Score> scores = new ArrayList<>(SpellingProbe.score(spark, arm, SpellingProbe.INPUT,
        model.inputEmbeddings(tokens.trainIds()), tokens.trainLetters(), model.inputEmbeddings(tokens.testIds()),
        tokens.testLetters(), o.regParam(), o.resamples(), o.seed(), progress.of(arm, SpellingProbe.INPUT)));
    double[][] encoderTrain = model.charEncoderVectors(tokens.trainIds());
    if (encoderTrain != null) {
      scores.addAll(SpellingProbe.score(spark, arm, SpellingProbe.CHAR_ENCODER, encoderTrain, tokens.trainLetters(),
          model.charEncoderVectors(tokens.testIds()), tokens.testLetters(), o.regParam(), o.resamples(), o.seed(),
          progress.of(arm, SpellingProbe.CHAR_ENCODER)));
    }
    return scores;
  }

  /** Arms with a char encoder get its output probed too: known from the arm's name before its model is read. */
  private static boolean hasCharEncoder(String arm) {
    return Arch.parse("arms of the pretrain manifest", arm).readsBytes();
  }

  /**
   * The tokens of training words (as the quoted prompt holds them) train the probes; the test
   * tokens are those no training word has: first every token of the held-out words that is not a
   * training word's (too few on their own at small vocabularies: 3 at 512 ids in the quick study),
   * then other tokens of the vocabulary in a seeded order, up to {@code maxTest}. Tokens without a
   * letter are left out.
   */
  static Tokens tokens(SparkSession spark, String tasksDir, Tokenizer tok, int maxTest, long seed) {
    Map<Integer, String> train = new TreeMap<>();
    Map<Integer, String> heldOut = new TreeMap<>();
    for (Row r : spark.read().parquet(new Path(tasksDir, "examples").toString())
        .where("split in ('train', 'val_heldout')").select("split", "word").distinct().collectAsList()) {
      for (int id : tok.encode(r.getString(1))) {
        String letters = SpellingProbe.letters(tok.tokenBytes(id));
        if (!letters.isEmpty()) (r.getString(0).equals("train") ? train : heldOut).put(id, letters);
      }
    }
    heldOut.keySet().removeAll(train.keySet());
    List<Integer> others = new ArrayList<>();
    for (int id = 0; id < tok.vocabSize(); id++) {
      if (!tok.isSpecial(id) && !train.containsKey(id) && !heldOut.containsKey(id)
          && !SpellingProbe.letters(tok.tokenBytes(id)).isEmpty()) {
        others.add(id);
      }
    }
    others.sort(java.util.Comparator.comparingLong((Integer id) -> StableHash.hash64(seed, new int[] {id})));
    Map<Integer, String> test = new LinkedHashMap<>();
    for (Map.Entry<Integer, String> e : heldOut.entrySet()) if (test.size() < maxTest) test.put(e.getKey(), e.getValue());
    int fromHeldOut = test.size();
    for (int id : others) {
      if (test.size() >= maxTest) break;
      test.put(id, SpellingProbe.letters(tok.tokenBytes(id)));
    }
    return new Tokens(train.keySet().stream().mapToInt(Integer::intValue).toArray(), new ArrayList<>(train.values()),
        test.keySet().stream().mapToInt(Integer::intValue).toArray(), new ArrayList<>(test.values()), fromHeldOut);
  }

  private static FileSystem fileSystem(Path p, org.apache.hadoop.conf.Configuration hadoop) {
    try {
      return p.getFileSystem(hadoop);
    } catch (IOException e) {
      throw new UserError(STAGE + ": cannot open " + p + ": " + e.getMessage(), e);
    }
  }

  private static void printSummary(List<SpellingProbe.Score> scores) {
    StringBuilder sb = new StringBuilder("\nspelling probes, tokens no training word has (accuracy vs majority floor):\n");
    for (SpellingProbe.Score s : scores) {
      sb.append(String.format(Locale.ROOT, "  %-16s %-13s %-18s %5.1f%%  [%5.1f, %5.1f]  floor %5.1f%%  n=%d%n", s.arm(),
          s.vector(), s.target(), 100 * s.accuracy(), 100 * s.low(), 100 * s.high(), 100 * s.floor(), s.test()));
    }
    LOG.info("{}", sb);
  }
}
