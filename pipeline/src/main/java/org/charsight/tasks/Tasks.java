package org.charsight.tasks;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.StableHash;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.shards.ShardSet;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The tasks stage: words (from the corpus itself or a word list) split into matched training and
 * held-out words (drawn per seed), non-words as controls, and for each word and task family
 * question/answer examples encoded with the run's tokenizer, written as Parquet.
 *
 * <p>Splits: {@code train} (training words, training phrasings), and for evaluation
 * {@code val_train_words}, {@code val_heldout}, {@code val_nonce} (consonant strings) and
 * {@code val_pseudoword} (pronounceable non-words), which use every phrasing (column
 * {@code phrasing_seen} says whether training saw it). Held-out words appear in no training row;
 * how training and held-out words are drawn: {@link WordSource#split}.
 */
public final class Tasks {
  private static final Logger LOG = LoggerFactory.getLogger(Tasks.class);
  static final String STAGE = "tasks";
  public static final StructType SCHEMA = new StructType()
      .add("task", DataTypes.StringType, false)
      .add("split", DataTypes.StringType, false)
      .add("word", DataTypes.StringType, false)
      .add("phrasing", DataTypes.IntegerType, false)
      .add("phrasing_seen", DataTypes.BooleanType, false)
      .add("prompt", DataTypes.StringType, false)
      .add("answer", DataTypes.StringType, false)
      .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("answer_start", DataTypes.IntegerType, false)
      .add("word_tokens", DataTypes.IntegerType, false)
      // The letters the question names (x, then y), "" if none: what a model could answer from
      // without reading the word, which evaluation's letters-only floor measures.
      .add("letters", DataTypes.StringType, false);
  static final Pattern WORD = Pattern.compile("[A-Za-z]+");

  private Tasks() {}

  public record Options(String shards, String out, boolean overwrite, String wordsFile, List<String> cuteFiles,
      List<CharTask> families,
      int minLength, int maxLength, long minFrequency, int maxWords, double heldOutFraction, int examplesPerWord,
      long seed) {

    public static Options from(CharsightConfig c, String shards, String out, boolean overwrite, String wordsFile) {
      return from(c, shards, out, overwrite, wordsFile, List.of());
    }

    /** @param cuteFiles CUTE TSV files to add as evaluation rows (splits cute and cute_nonce) */
    public static Options from(CharsightConfig c, String shards, String out, boolean overwrite, String wordsFile,
        List<String> cuteFiles) {
      if (shards == null || out == null) throw new UserError(STAGE + ": --shards and --out are required");
      List<CharTask> families = new ArrayList<>();
      for (String f : c.strings("tasks.families")) families.add(CharTask.parse("tasks.families", f));
      int min = c.intAtLeast("tasks.min_word_length", 1);
      int max = c.intAtLeast("tasks.max_word_length", min);
      return new Options(shards, out, overwrite, wordsFile, List.copyOf(cuteFiles), List.copyOf(families), min, max,
          c.longAtLeast("tasks.min_word_frequency", 1), c.intAtLeast("tasks.max_words", 1),
          c.openFraction("tasks.held_out_fraction"), c.intAtLeast("tasks.examples_per_word", 1),
          c.longAtLeast("seed", Long.MIN_VALUE));
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    ShardSet shards = ShardSet.open(spark, o.shards());
    Tokenizers.Spec spec = shards.tokenizer();
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), jsc.hadoopConfiguration())) {
      Words words = words(spark, shards, o);
      JavaRDD<Row> rows = exampleRows(jsc, words, spec, o);
      Map<String, Object> cute = new LinkedHashMap<>();
      if (!o.cuteFiles().isEmpty()) rows = rows.union(cuteRows(spark, o, spec, cute));
      // Cached: the examples are counted before balancing and written after it.
      Dataset<Row> made = spark.createDataFrame(rows, SCHEMA).cache();
      long drawn = made.where("task = 'contains_char' and split = 'train'").count();
      String examples = output.resolve("examples").toString();
      balanceContains(made).write().partitionBy("split").parquet(examples);
      made.unpersist();

      Map<String, Object> counts = counts(spark.read().parquet(examples));
      Manifest m = new Manifest(STAGE);
      m.put("shards", shards.dir());
      m.put("tokenizer", shards.manifest().get("tokenizer"));
      m.put("word_source", o.wordsFile() != null ? o.wordsFile() : "corpus");
      m.put("words", describe(words, spec.open()));
      m.put("families", o.families().stream().map(f -> f.confName).toList());
      if (!cute.isEmpty()) m.put("cute", cute);
      m.put("counts", counts);
      m.put("tokens_per_word", tokensPerWord(spark.read().parquet(examples)));
      if (o.families().contains(CharTask.CONTAINS_CHAR)) m.put("contains_char_dropped_to_balance_letters", dropped(counts, drawn));
      m.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      m.write(output.fs(), output.dir());
      output.commit();
      LOG.info("{}: {} training, {} held-out, {} nonce words -> {}", STAGE, words.train().size(), words.heldOut().size(),
          words.nonce().size(), output.target());
      return counts;
    }
  }

  /** The words questions are asked about: fine-tuning's, held-out ones, and the two kinds of non-words. */
  record Words(List<String> train, List<String> heldOut, List<String> nonce, List<String> pseudowords,
      Map<String, Long> frequency, Map<String, Integer> band) {}

  private static Words words(SparkSession spark, ShardSet shards, Options o) {
    Source source = o.wordsFile() != null ? wordList(spark, o) : corpusWords(spark, shards, o);
    try {
      Map<String, Long> frequency = source.frequent();
      if (frequency.isEmpty()) {
        throw new UserError(STAGE + ": no words of " + o.minLength() + "-" + o.maxLength() + " letters"
            + (o.wordsFile() != null ? " in " + o.wordsFile() : " seen at least tasks.min_word_frequency="
            + o.minFrequency() + " times in " + o.shards()));
      }
      WordSource.Split split = WordSource.split(frequency, o.maxWords(), o.heldOutFraction(), o.seed());
      if (split.train().isEmpty() || split.heldOut().isEmpty()) {
        throw new UserError(STAGE + ": " + frequency.size() + " word(s) give " + split.train().size() + " training and "
            + split.heldOut().size() + " held-out words; need both (add words or change tasks.held_out_fraction)");
      }
      List<String> pool = new ArrayList<>(split.train());
      pool.addAll(split.heldOut());
      int n = split.heldOut().size();
      return new Words(split.train(), split.heldOut(),
          nonWords(source, known -> WordSource.nonce(split.heldOut(), known, n, o.seed())),
          nonWords(source, known -> WordSource.pseudowords(pool, known, n, o.seed())), frequency, split.band());
    } finally {
      source.close();
    }
  }

  /**
   * Where words come from: the frequent ones (the pool's candidates), and which strings are words
   * of the source at all, at any frequency. The corpus's full word list stays on the executors: on a
   * large corpus it can hold millions of types.
   */
  record Source(Map<String, Long> frequent, Function<Set<String>, Set<String>> present, Runnable release) {
    void close() {
      release.run();
    }
  }

  /**
   * Non-words from {@code make}, which avoids the strings it is given: first the frequent words,
   * then also every candidate the source turns out to have. A draw avoids every source word once
   * none of its strings is one, and is then the same as a draw that avoided the whole source.
   */
  static List<String> nonWords(Source source, Function<Set<String>, List<String>> make) {
    Set<String> known = new HashSet<>(source.frequent().keySet());
    for (int round = 0; round < 50; round++) {
      List<String> made = make.apply(known);
      Set<String> hits = source.present().apply(new HashSet<>(made));
      if (hits.isEmpty()) return made;
      known.addAll(hits);
    }
    throw new IllegalStateException("non-words kept turning out to be source words after 50 draws");
  }

  /**
   * Per split of words: how many, their corpus frequency, frequency band, letters and tokens (as a
   * quoted prompt holds them), as quantiles: the record that training and held-out words match.
   */
  static Map<String, Object> describe(Words words, Tokenizer tok) {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, List<String>> splits = new LinkedHashMap<>();
    splits.put("train", words.train());
    splits.put("held_out", words.heldOut());
    splits.put("nonce", words.nonce());
    splits.put("pseudoword", words.pseudowords());
    for (Map.Entry<String, List<String>> e : splits.entrySet()) {
      List<String> ws = e.getValue();
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("words", ws.size());
      if (words.frequency().containsKey(ws.get(0))) {
        d.put("frequency", quantiles(ws.stream().mapToDouble(w -> words.frequency().get(w)).toArray()));
        d.put("frequency_band", quantiles(ws.stream().mapToDouble(w -> words.band().get(w)).toArray()));
      }
      d.put("letters", quantiles(ws.stream().mapToDouble(String::length).toArray()));
      d.put("tokens_per_word", quantiles(ws.stream().mapToDouble(w -> tok.encode(w).length).toArray()));
      out.put(e.getKey(), d);
    }
    return out;
  }

  /** Mean and the quartiles (lower median at even counts: values stay values). */
  static Map<String, Object> quantiles(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("mean", Arrays.stream(v).average().orElse(Double.NaN));
    q.put("q25", v[(v.length - 1) / 4]);
    q.put("median", v[(v.length - 1) / 2]);
    q.put("q75", v[(3 * (v.length - 1)) / 4]);
    return q;
  }

  /** Every family's examples for every word and split, made on the executors. */
  private static JavaRDD<Row> exampleRows(JavaSparkContext jsc, Words words, Tokenizers.Spec spec, Options o) {
    List<Tuple2<String, String>> jobs = new ArrayList<>();
    for (String w : words.train()) {
      jobs.add(new Tuple2<>("train", w));
      jobs.add(new Tuple2<>("val_train_words", w));
    }
    for (String w : words.heldOut()) jobs.add(new Tuple2<>("val_heldout", w));
    for (String w : words.nonce()) jobs.add(new Tuple2<>("val_nonce", w));
    for (String w : words.pseudowords()) jobs.add(new Tuple2<>("val_pseudoword", w));
    Broadcast<List<CharTask>> families = jsc.broadcast(o.families());
    long seed = o.seed();
    int perWord = o.examplesPerWord();
    jsc.setJobDescription("make task examples");
    return jsc.parallelize(jobs, Math.max(jsc.defaultParallelism(), jobs.size() / 2000 + 1))
        .mapPartitions(it -> {
          Tokenizer tok = spec.open();
          List<Row> out = new ArrayList<>();
          while (it.hasNext()) {
            Tuple2<String, String> job = it.next();
            for (CharTask t : families.value()) out.addAll(examples(t, job._1(), job._2(), perWord, seed, tok));
          }
          return out.iterator();
        });
  }

  /** Examples per task and split. */
  private static Map<String, Object> counts(Dataset<Row> examples) {
    Map<String, Object> counts = new LinkedHashMap<>();
    for (Row r : examples.groupBy("task", "split").count().orderBy("task", "split").collectAsList()) {
      @SuppressWarnings("unchecked")
      Map<String, Object> byTask = (Map<String, Object>) counts.computeIfAbsent(r.getString(0), k -> new LinkedHashMap<>());
      byTask.put(r.getString(1), r.getLong(2));
    }
    return counts;
  }

  private static Map<String, Object> tokensPerWord(Dataset<Row> examples) {
    Map<String, Object> tokensPerWord = new LinkedHashMap<>();
    for (Row r : examples.groupBy("split").avg("word_tokens").orderBy("split").collectAsList()) {
      tokensPerWord.put(r.getString(0), r.getDouble(1));
    }
    return tokensPerWord;
  }

  /** Training contains_char questions dropped to balance yes and no per letter; warns when none is left. */
  private static long dropped(Map<String, Object> counts, long drawn) {
    @SuppressWarnings("unchecked")
    Map<String, Object> contains = (Map<String, Object>) counts.getOrDefault("contains_char", Map.of());
    long dropped = drawn - (long) contains.getOrDefault("train", 0L);
    if (drawn > 0 && dropped == drawn) {
      LOG.warn("{}: no training contains_char question is left after balancing yes/no per letter ({} drawn); "
          + "use more words or tasks.examples_per_word", STAGE, drawn);
    }
    return dropped;
  }

  /**
   * Training contains_char with "yes" and "no" equally often for every asked letter, by dropping
   * the surplus (a fixed choice by hash). Drawn per word, present letters are the word's (common
   * letters) and absent ones the rest (rare letters), so the letter alone answers most questions
   * (about 72% on the default corpus), and a model fine-tuned on them learns that instead of
   * spelling. Evaluation splits keep every question (balancing them would empty small ones);
   * evaluation measures what the letters alone score there (the letters-only floor).
   */
  static Dataset<Row> balanceContains(Dataset<Row> rows) {
    String own = "task = 'contains_char' and split = 'train'";
    Dataset<Row> contains = rows.where(own)
        .selectExpr("*", "row_number() over (partition by split, letters, answer order by xxhash64(word, prompt), word, prompt) as rank",
            "count(if(answer = 'yes', 1, null)) over (partition by split, letters) as yes",
            "count(if(answer = 'no', 1, null)) over (partition by split, letters) as no")
        .where("rank <= least(yes, no)")
        .drop("rank", "yes", "no");
    return rows.where("not (" + own + ")").unionByName(contains);
  }

  /** Examples of one task for one word; training rows never use the held-out (last) phrasing. */
  static List<Row> examples(CharTask t, String split, String word, int perWord, long seed, Tokenizer tok) {
    List<Row> out = new ArrayList<>();
    boolean training = split.equals("train");
    int phrasings = t.phrasings.size();
    Random rnd = new Random(StableHash.hash64(seed, t.confName + "|" + split + "|" + word));
    for (int i = 0; i < perWord; i++) {
      int p = rnd.nextInt(training ? phrasings - 1 : phrasings);
      var ex = t.make(word, p, rnd);
      if (ex.isEmpty()) return out;
      out.add(row(ex.get(), split, p < phrasings - 1, tok));
    }
    return out;
  }

  /**
   * The text is {@code Question: <prompt>\nAnswer: <answer>}, then end-of-text; the loss covers the
   * answer part. {@code word_tokens} counts the tokens the word is read (or written) as in this
   * very text: those that overlap the quoted word in the prompt, or the answer where the prompt
   * spells the word out (spell_inverse).
   */
  static Row row(CharTask.Example e, String split, boolean phrasingSeen, Tokenizer tok) {
    String question = "Question: " + e.prompt() + "\nAnswer:";
    int[] q = tok.encode(question);
    int[] a = tok.encode(" " + e.answer());
    int[] all = Arrays.copyOf(q, q.length + a.length + 1);
    System.arraycopy(a, 0, all, q.length, a.length);
    all[all.length - 1] = tok.endOfText();
    String letters = (e.x() == 0 ? "" : String.valueOf(e.x())) + (e.y() == 0 ? "" : String.valueOf(e.y()));
    return RowFactory.create(e.task().confName, split, e.word(), e.phrasing(), phrasingSeen, e.prompt(), e.answer(), all,
        q.length, wordTokens(e, question, all, tok), letters);
  }

  /** The number of tokens of {@code ids} (encoding {@code question + " " + answer}) whose bytes overlap the word's. */
  static int wordTokens(CharTask.Example e, String question, int[] ids, Tokenizer tok) {
    int quoted = question.indexOf("\"" + e.word() + "\"");
    int start;
    if (quoted >= 0) {
      start = utf8Length(question.substring(0, quoted + 1));
    } else if (e.answer().equals(e.word())) {
      start = utf8Length(question + " ");
    } else {
      throw new IllegalStateException(e.task().confName + ": the word '" + e.word() + "' is neither quoted in the prompt nor "
          + "the answer: " + e.prompt());
    }
    int end = start + utf8Length(e.word());
    int count = 0;
    int at = 0;
    for (int id : ids) {
      int next = at + tok.decodeBytes(new int[] {id}, 0, 1).length;
      if (next > start && at < end) count++;
      at = next;
    }
    return count;
  }

  private static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** CUTE items as evaluation rows (splits cute, cute_nonce); per-file counts go into {@code report}. */
  private static JavaRDD<Row> cuteRows(SparkSession spark, Options o, Tokenizers.Spec spec, Map<String, Object> report) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<CuteImport.Item> items = new ArrayList<>();
    for (String f : o.cuteFiles()) {
      Path p = new Path(f);
      List<String> lines;
      try {
        FileSystem fs = p.getFileSystem(jsc.hadoopConfiguration());
        if (!fs.exists(p)) throw new UserError(STAGE + ": --import-cute file does not exist: " + f);
        try (InputStream in = fs.open(p)) {
          lines = List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        }
      } catch (IOException e) {
        throw new UserError(STAGE + ": cannot read --import-cute " + f + ": " + e.getMessage(), e);
      }
      List<CuteImport.Item> parsed = CuteImport.parse(f, lines);
      long disagree = parsed.stream().filter(i -> !i.agrees()).count();
      if (disagree > 0) LOG.warn("{}: {} of {} items in {} have a label that differs from the task's rule", STAGE, disagree,
          parsed.size(), f);
      report.put(f, Map.of("items", parsed.size(), "label_differs_from_rule", disagree));
      items.addAll(parsed);
    }
    return jsc.parallelize(items, Math.max(1, jsc.defaultParallelism())).mapPartitions(it -> {
      Tokenizer tok = spec.open();
      List<Row> out = new ArrayList<>();
      while (it.hasNext()) {
        CuteImport.Item item = it.next();
        CharTask.Example e = item.example();
        boolean seen = e.phrasing() < e.task().phrasings.size() - 1;
        out.add(row(e, item.nonce() ? "cute_nonce" : "cute", seen, tok));
      }
      return out.iterator();
    });
  }

  private static Source wordList(SparkSession spark, Options o) {
    Path p = new Path(o.wordsFile());
    Map<String, Long> words = new HashMap<>();
    try {
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(p)) throw new UserError(STAGE + ": --words file does not exist: " + o.wordsFile());
      try (InputStream in = fs.open(p)) {
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          String w = line.trim().toLowerCase(Locale.ROOT);
          if (w.matches("[a-z]+") && w.length() >= o.minLength() && w.length() <= o.maxLength()) words.put(w, 1L);
        }
      }
    } catch (IOException e) {
      throw new UserError(STAGE + ": cannot read --words " + o.wordsFile() + ": " + e.getMessage(), e);
    }
    return new Source(words, candidates -> {
      Set<String> hits = new HashSet<>(candidates);
      hits.retainAll(words.keySet());
      return hits;
    }, () -> { });
  }

  /** Words of the corpus, decoded from the shards through vocab.parquet's bytes (no tokenizer needed). */
  private static Source corpusWords(SparkSession spark, ShardSet shards, Options o) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<List<byte[]>> vocab = jsc.broadcast(shards.vocabBytes());
    int min = o.minLength();
    int max = o.maxLength();
    long minFrequency = o.minFrequency();
    jsc.setJobDescription("count corpus words");
    // Windows are decoded one by one; a word cut by a window edge yields fragments, which the
    // frequency threshold mostly removes.
    JavaPairRDD<String, Long> counted = spark.read().parquet(new Path(shards.dir(), "train").toString()).select("tokens")
        .javaRDD()
        .flatMapToPair(r -> {
          List<Integer> ids = r.getList(0);
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          for (int id : ids) bytes.writeBytes(vocab.value().get(id));
          Matcher m = WORD.matcher(new String(bytes.toByteArray(), StandardCharsets.UTF_8));
          List<Tuple2<String, Long>> out = new ArrayList<>();
          while (m.find()) {
            String w = m.group().toLowerCase(Locale.ROOT);
            if (w.length() >= min && w.length() <= max) out.add(new Tuple2<>(w, 1L));
          }
          return out.iterator();
        })
        .reduceByKey(Long::sum)
        .cache();
    Map<String, Long> frequent = new HashMap<>(counted.filter(t -> t._2() >= minFrequency).collectAsMap());
    return new Source(frequent, candidates -> {
      Broadcast<Set<String>> asked = jsc.broadcast(candidates);
      jsc.setJobDescription("check non-words against the corpus");
      Set<String> hits = new HashSet<>(counted.keys().filter(w -> asked.value().contains(w)).collect());
      asked.destroy();
      return hits;
    }, () -> counted.unpersist(false));
  }
}
