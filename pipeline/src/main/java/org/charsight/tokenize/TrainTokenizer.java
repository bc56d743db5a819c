package org.charsight.tokenize;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.corpus.CorpusOptions;
import org.charsight.corpus.CorpusReader;
import org.charsight.corpus.CorpusReader.Corpus;
import org.charsight.corpus.Document;
import org.charsight.corpus.TextNormalizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The train-tokenizer stage: Spark counts the pre-split chunks of the whole corpus (dropping rare
 * ones), the driver runs the incremental BPE merge loop, and the result is written as a
 * tiktoken rank file plus {@code tokenizer.json}, loadable by {@code prepare --tokenizer <dir>}.
 */
public final class TrainTokenizer {
  private static final Logger LOG = LoggerFactory.getLogger(TrainTokenizer.class);
  static final String STAGE = "train-tokenizer";
  static final List<String> SPECIALS = List.of(TrainedTokenizer.END_OF_TEXT, TrainedTokenizer.PAD);
  // Statistics travel through the same shuffle as the chunks, under keys that normalised text can
  // never contain (control characters are removed by normalisation).
  private static final String DOCS_KEY = "\u0001documents";
  private static final String BYTES_KEY = "\u0001bytes";

  private TrainTokenizer() {}

  public record Options(List<String> inputs, String out, boolean overwrite, int vocabSize, String pattern,
      long minChunkCount, CorpusOptions corpus) {

    public static Options from(CharsightConfig c, List<String> inputs, String out, boolean overwrite) {
      if (out == null || out.isBlank()) throw new UserError(STAGE + ": --out is required");
      long vocab = c.longAtLeast("train_tokenizer.vocab_size", Long.MIN_VALUE);
      int min = 256 + SPECIALS.size();
      if (vocab < min || vocab > Integer.MAX_VALUE) {
        throw new UserError(STAGE + ": vocabulary size " + vocab + " (--vocab-size / train_tokenizer.vocab_size) must be at least "
            + min + " (256 byte tokens + " + SPECIALS.size() + " special tokens)");
      }
      return new Options(List.copyOf(inputs), out, overwrite, (int) vocab,
          PreSplit.resolve("train_tokenizer.pattern", c.string("train_tokenizer.pattern")),
          c.longAtLeast("train_tokenizer.min_chunk_count", 1), CorpusOptions.from(c));
    }

    int merges() {
      return vocabSize - 256 - SPECIALS.size();
    }
  }

  public static Map<String, Object> run(SparkSession spark, Options o, Map<String, Object> configForManifest) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), jsc.hadoopConfiguration(), o.inputs())) {
      Corpus corpus = CorpusReader.read(spark, STAGE, o.inputs(), o.corpus());
      LOG.info("{}: {} input file(s), {} bytes; counting chunks", STAGE, corpus.files().size(), corpus.totalBytes());
      Chunks chunks = countChunks(jsc, corpus, o);
      long t1 = System.nanoTime();
      BpeTrainer.Result result = BpeTrainer.train(chunks.words(), chunks.counts(), o.merges(), new MergeProgress(o.merges()));
      double mergeSeconds = (System.nanoTime() - t1) / 1e9;
      if (result.merges().size() < o.merges()) {
        int possible = result.merges().size();
        throw new UserError(STAGE + ": vocabulary size " + o.vocabSize() + " needs " + o.merges()
            + " merges but this corpus supports only " + possible + " (with train_tokenizer.min_chunk_count="
            + o.minChunkCount() + "); use --vocab-size " + (256 + possible + SPECIALS.size()) + " or less, or more text");
      }
      Written written = writeFiles(output, result, chunks, o);

      Map<String, Object> manifest = new LinkedHashMap<>();
      manifest.put("inputs", o.inputs());
      manifest.put("file_count", corpus.files().size());
      manifest.put("config", configForManifest);
      manifest.put("tokenizer", written.info());
      manifest.put("counts", counts(chunks, written, result));
      manifest.put("merge_seconds", mergeSeconds);
      manifest.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      Manifest m = new Manifest(STAGE);
      manifest.forEach(m::put);
      m.write(output.fs(), output.dir());
      output.commit();
      LOG.info("{}: wrote {} ({}, {} merges in {} s, {} bytes/token on the kept chunks)", STAGE, output.target(),
          written.name(), result.merges().size(), String.format("%.1f", mergeSeconds),
          String.format("%.3f", written.bytesPerToken()));
      return manifest;
    }
  }

  /**
   * The corpus's chunks kept for training (seen at least train_tokenizer.min_chunk_count times),
   * sorted by bytes, with their counts; and what was counted on the way. {@code stats}: distinct
   * chunks, all chunks, distinct kept, kept.
   */
  record Chunks(long documents, long textBytes, long[] stats, List<byte[]> words, long[] counts) {}

  private static Chunks countChunks(JavaSparkContext jsc, Corpus corpus, Options o) {
    String regex = o.pattern();
    jsc.setJobDescription("count chunks");
    JavaPairRDD<String, Long> counted = corpus.documents()
        .mapPartitionsToPair(docs -> countChunks(regex, docs))
        .reduceByKey(Long::sum)
        .persist(StorageLevel.MEMORY_AND_DISK());
    long documents = counted.lookup(DOCS_KEY).stream().mapToLong(Long::longValue).sum();
    long textBytes = counted.lookup(BYTES_KEY).stream().mapToLong(Long::longValue).sum();
    if (documents == 0) throw new UserError(STAGE + ": the corpus is empty: no text in " + String.join(", ", o.inputs()));
    long min = o.minChunkCount();
    long[] stats = counted.filter(kv -> kv._1().charAt(0) != '\u0001')
        .aggregate(new long[4], (a, kv) -> {
          a[0]++;
          a[1] += kv._2();
          if (kv._2() >= min) {
            a[2]++;
            a[3] += kv._2();
          }
          return a;
        }, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]});
    jsc.setJobDescription("collect chunks");
    List<Tuple2<String, Long>> kept = counted
        .filter(kv -> kv._1().charAt(0) != '\u0001' && kv._2() >= min)
        .collect();
    counted.unpersist(false);
    LOG.info("{}: {} documents, {} chunks, {} distinct; {} distinct kept (count >= {}); training {} merges", STAGE,
        documents, stats[1], stats[0], stats[2], min, o.merges());

    // Sorted by bytes so the trainer sees the same input however Spark ordered the collect.
    List<Tuple2<byte[], Long>> chunks = new ArrayList<>(kept.size());
    for (Tuple2<String, Long> t : kept) chunks.add(new Tuple2<>(t._1().getBytes(StandardCharsets.UTF_8), t._2()));
    chunks.sort((x, y) -> Arrays.compareUnsigned(x._1(), y._1()));
    List<byte[]> words = new ArrayList<>(chunks.size());
    long[] counts = new long[chunks.size()];
    for (int i = 0; i < chunks.size(); i++) {
      words.add(chunks.get(i)._1());
      counts[i] = chunks.get(i)._2();
    }
    return new Chunks(documents, textBytes, stats, words, counts);
  }

  /** The tokenizer's files as written, with its name, its tokenizer.json as a map, and what it measured. */
  record Written(String name, Map<String, Object> info, double bytesPerToken, long keptBytes, long tokens) {}

  private static Written writeFiles(StageOutput output, BpeTrainer.Result result, Chunks chunks, Options o) {
    String regex = o.pattern();
    List<byte[]> words = chunks.words();
    long[] counts = chunks.counts();
    List<byte[]> vocab = result.vocab();
    String name = "bpe-" + o.vocabSize() + "-" + TrainedTokenizer.sha256(TrainedTokenizer.ranksFile(vocab)).substring(0, 8);
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("tie_break", "highest count, then smallest left id, then smallest right id");
    // Compression is measured with the finished tokenizer on the kept chunks (no second pass over the
    // corpus), then recorded in its own file.
    TrainedTokenizer trial = TrainedTokenizer.of(TrainedTokenizer.Files.build(vocab, name, regex, extra));
    long tokens = 0;
    long keptBytes = 0;
    for (int i = 0; i < words.size(); i++) {
      keptBytes += words.get(i).length * counts[i];
      tokens += (long) trial.encode(new String(words.get(i), StandardCharsets.UTF_8)).length * counts[i];
    }
    double bytesPerToken = tokens == 0 ? 0 : (double) keptBytes / tokens;
    extra.put("bytes_per_token", bytesPerToken);
    TrainedTokenizer.Files files = TrainedTokenizer.Files.build(vocab, name, regex, extra);
    write(output, TrainedTokenizer.RANKS_FILE, files.ranks());
    write(output, TrainedTokenizer.INFO_FILE, files.info());
    try {
      Map<String, Object> info = Manifest.json().readValue(files.info(), new TypeReference<LinkedHashMap<String, Object>>() {});
      return new Written(name, info, bytesPerToken, keptBytes, tokens);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot re-read " + TrainedTokenizer.INFO_FILE, e);
    }
  }

  private static Map<String, Object> counts(Chunks chunks, Written written, BpeTrainer.Result result) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("documents", chunks.documents());
    c.put("text_bytes", chunks.textBytes());
    c.put("chunks", chunks.stats()[1]);
    c.put("distinct_chunks", chunks.stats()[0]);
    c.put("kept_distinct_chunks", chunks.stats()[2]);
    c.put("kept_chunks", chunks.stats()[3]);
    c.put("kept_bytes", written.keptBytes());
    c.put("kept_tokens", written.tokens());
    c.put("alias_merges", result.aliasMerges());
    return c;
  }

  private static void write(StageOutput output, String file, byte[] content) {
    try (var out = output.fs().create(new Path(output.dir(), file), true)) {
      out.write(content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Counts chunks within a partition first, so the shuffle carries each distinct chunk once per task. */
  private static Iterator<Tuple2<String, Long>> countChunks(String regex, Iterator<Document> docs) {
    Pattern p = PreSplit.compile(regex);
    Map<String, long[]> local = new HashMap<>();
    long documents = 0;
    long bytes = 0;
    while (docs.hasNext()) {
      String text = TextNormalizer.normalize(docs.next().text());
      if (text.isBlank()) continue;
      documents++;
      bytes += text.getBytes(StandardCharsets.UTF_8).length;
      Matcher m = p.matcher(text);
      while (m.find()) local.computeIfAbsent(m.group(), k -> new long[1])[0]++;
    }
    List<Tuple2<String, Long>> out = new ArrayList<>(local.size() + 2);
    local.forEach((k, v) -> out.add(new Tuple2<>(k, v[0])));
    out.add(new Tuple2<>(DOCS_KEY, documents));
    out.add(new Tuple2<>(BYTES_KEY, bytes));
    return out.iterator();
  }

  /** A progress line every few seconds: merges done of the target and the rate. */
  static final class MergeProgress implements BpeTrainer.Progress {
    private final long start = System.nanoTime();
    private final int target;
    private long last = start;

    MergeProgress(int target) {
      this.target = target;
    }

    @Override
    public void update(int done, int target) {
      long now = System.nanoTime();
      if (now - last < 3_000_000_000L && done < target) return;
      last = now;
      double s = (now - start) / 1e9;
      LOG.info("{}: merges {}/{} ({} merges/s)", STAGE, done, this.target, String.format("%.0f", done / Math.max(s, 1e-9)));
    }
  }
}
