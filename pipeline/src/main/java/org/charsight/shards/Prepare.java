package org.charsight.shards;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.SerializableHadoopConf;
import org.charsight.common.StableHash;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;
import org.charsight.corpus.CorpusOptions;
import org.charsight.corpus.CorpusReader;
import org.charsight.corpus.CorpusReader.Corpus;
import org.charsight.corpus.Document;
import org.charsight.corpus.TextNormalizer;
import org.charsight.shards.WindowPacker.Window;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The prepare stage: corpus -> normalised documents -> train/val split -> tokens -> windows of
 * {@code context + 1} tokens in Parquet shards, plus {@code vocab.parquet} (every token's bytes:
 * the char decomposition) and {@code manifest.json}.
 *
 * <p>Determinism: a document's split and its place in the stream come from hashes of its id, so
 * the same input and conf give the same shards on one core or a cluster. The sort by hash also
 * mixes sources, so a shard is not one author's speeches.
 */
public final class Prepare {
  private static final Logger LOG = LoggerFactory.getLogger(Prepare.class);
  static final String STAGE = "prepare";
  public static final String[] SPLITS = {"train", "val"};
  public static final StructType WINDOW_SCHEMA = new StructType()
      .add("window", DataTypes.LongType, false)
      .add("doc_first", DataTypes.LongType, false)
      .add("doc_last", DataTypes.LongType, false)
      .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
  static final int HISTOGRAM_BUCKETS = 33;
  static final int MANIFEST_FILES = 1000;

  private Prepare() {}

  public record Options(
      List<String> inputs,
      String out,
      boolean overwrite,
      Tokenizers.Spec tokenizer,
      int context,
      double valFraction,
      long seed,
      long shardTargetBytes,
      String compression,
      CorpusOptions corpus) {

    public static Options from(CharsightConfig c, List<String> inputs, String out, boolean overwrite) {
      return from(c, inputs, out, overwrite, new Configuration());
    }

    /** @param hadoopConf the session's Hadoop configuration, for a tokenizer directory on HDFS or S3A */
    public static Options from(CharsightConfig c, List<String> inputs, String out, boolean overwrite,
        Configuration hadoopConf) {
      if (out == null || out.isBlank()) throw new UserError(STAGE + ": --out is required");
      int context = c.intAtLeast("prepare.context", 2);
      double val = c.openFraction("prepare.val_fraction");
      return new Options(
          List.copyOf(inputs), out, overwrite,
          Tokenizers.parse("prepare.tokenizer", c.string("prepare.tokenizer"), hadoopConf),
          context, val, c.longAtLeast("seed", Long.MIN_VALUE),
          c.longAtLeast("prepare.shard_target_bytes", 1024),
          c.oneOf("prepare.compression", "zstd", "snappy", "gzip", "none"),
          CorpusOptions.from(c));
    }
  }

  /**
   * Orders documents: by split, then by a hash of the id (mixing sources), then by id, then by a
   * hash of the text (two inputs with the same name could give two documents one id; equal keys
   * are then equal documents, whose order does not matter).
   */
  record DocKey(boolean val, long order, String id, long content) implements Comparable<DocKey>, Serializable {
    @Override
    public int compareTo(DocKey o) {
      int c = Boolean.compare(val, o.val);
      if (c != 0) return c;
      c = Long.compare(order, o.order);
      if (c != 0) return c;
      c = id.compareTo(o.id);
      return c != 0 ? c : Long.compare(content, o.content);
    }
  }

  record Tokenized(int[] tokens, long textBytes, long sourceBytes, long invalidUtf8) implements Serializable {}

  /** Runs the stage and returns the manifest it wrote. */
  public static Map<String, Object> run(SparkSession spark, Options o, Map<String, Object> configForManifest) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    try (StageOutput output = StageOutput.begin(STAGE, o.out(), o.overwrite(), jsc.hadoopConfiguration(), o.inputs())) {
      Tokenizer tok = o.tokenizer().open();
      Corpus corpus = CorpusReader.read(spark, STAGE, o.inputs(), o.corpus());
      LOG.info("prepare: {} input file(s), {} bytes; tokenizer {} (vocab {})", corpus.files().size(), corpus.totalBytes(),
          tok.name(), tok.vocabSize());

      // 1. Read, normalise and tokenize where the text is read; key each document by split and order.
      //    One shuffle then puts both splits in stream order, and each resulting partition becomes
      //    one shard, so the corpus is read once and tokens cross the network once.
      int[] parts = shardsPerSplit(jsc, corpus, tok, o);
      JavaRDD<Tokenized> ordered = orderedDocuments(jsc, corpus, parts, o);
      List<PartitionSummary> all = summaries(ordered, o);
      SplitSizes sizes = checkSize(all, parts[0], o);

      // 2. Cut each split's stream into windows and write them.
      Map<String, Object> counts = writeSplits(spark, ordered, parts[0], all, o, output);
      ordered.unpersist(false);
      if (sizes.valTokens() == 0) {
        LOG.warn("prepare: the validation split is empty ({} documents x prepare.val_fraction={}); "
            + "later stages need validation windows", sizes.documents(), o.valFraction());
      }
      String vocabDir = output.resolve("vocab.parquet").toString();
      try {
        VocabTable.write(jsc.hadoopConfiguration(), tok, vocabDir, parquetCodec(o.compression()));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + vocabDir, e);
      }

      Map<String, Object> manifest = manifest(spark, o, corpus, tok, all, counts, configForManifest);
      double seconds = (System.nanoTime() - t0) / 1e9;
      manifest.put("wall_seconds", seconds);
      Map<String, Object> sparkInfo = new LinkedHashMap<>();
      sparkInfo.put("master", spark.sparkContext().master());
      sparkInfo.put("default_parallelism", jsc.defaultParallelism());
      manifest.put("spark", sparkInfo);
      Manifest m = new Manifest(STAGE);
      manifest.forEach(m::put);
      m.write(output.fs(), output.dir());
      output.commit();
      LOG.info("prepare: wrote {} ({} documents, {} bytes/token, {} s)", output.target(), sizes.documents(),
          String.format("%.3f", (double) manifest.get("bytes_per_token")), String.format("%.1f", seconds));
      return manifest;
    }
  }

  /** Shards per split: about prepare.shard_target_bytes each, and at least one per core. */
  private static int[] shardsPerSplit(JavaSparkContext jsc, Corpus corpus, Tokenizer tok, Options o) {
    long estimatedTokenBytes = (long) (4 * corpus.totalBytes() / tok.bytesPerTokenHint());
    int[] parts = new int[2];
    for (int v = 0; v < 2; v++) {
      double share = v == 0 ? 1 - o.valFraction() : o.valFraction();
      parts[v] = (int) Math.max(jsc.defaultParallelism(), Math.ceil(estimatedTokenBytes * share / o.shardTargetBytes()));
    }
    return parts;
  }

  /** Every document tokenized and put in its split's stream order, train partitions first. */
  private static JavaRDD<Tokenized> orderedDocuments(JavaSparkContext jsc, Corpus corpus, int[] parts, Options o) {
    Tokenizers.Spec spec = o.tokenizer();
    long seed = o.seed();
    double valFraction = o.valFraction();
    jsc.setJobDescription("read, tokenize and order documents");
    return corpus.documents()
        .mapPartitionsToPair(docs -> tokenize(spec, seed, valFraction, docs))
        .repartitionAndSortWithinPartitions(new DocPartitioner(parts[0], parts[1]))
        .values()
        .persist(StorageLevel.MEMORY_AND_DISK());
  }

  /** What each partition holds (tokens, documents, bytes), in partition order. */
  private static List<PartitionSummary> summaries(JavaRDD<Tokenized> ordered, Options o) {
    int ctx = o.context();
    Tokenizers.Spec spec = o.tokenizer();
    List<PartitionSummary> all = new ArrayList<>(ordered.mapPartitionsWithIndex(
        (p, it) -> List.of(summarize(p, it, ctx, spec)).iterator(), true).collect());
    all.sort(Comparator.comparingInt(PartitionSummary::partition));
    return all;
  }

  record SplitSizes(long trainTokens, long valTokens, long documents) {}

  /** Tokens per split and documents; refuses a corpus too small to train on. */
  private static SplitSizes checkSize(List<PartitionSummary> all, int trainParts, Options o) {
    long[] tokens = new long[2];
    long[] docs = new long[2];
    for (PartitionSummary s : all) {
      int v = s.partition() < trainParts ? 0 : 1;
      tokens[v] += s.tokens();
      docs[v] += s.documents();
    }
    if (docs[0] + docs[1] == 0) {
      throw new UserError(STAGE + ": the corpus is empty: no text in " + String.join(", ", o.inputs()));
    }
    if (tokens[0] < 2) {
      throw new UserError(STAGE + ": the corpus is too small: the train split has " + tokens[0]
          + " token(s); need at least 2 (lower prepare.val_fraction or add text)");
    }
    return new SplitSizes(tokens[0], tokens[1], docs[0] + docs[1]);
  }

  /** The manifest's record of inputs, tokenizer and counts (the caller adds timings). */
  private static Map<String, Object> manifest(SparkSession spark, Options o, Corpus corpus, Tokenizer tok,
      List<PartitionSummary> all, Map<String, Object> counts, Map<String, Object> configForManifest) {
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("inputs", o.inputs());
    manifest.put("file_count", corpus.files().size());
    // Enough to audit a run; a corpus of a million files would make the manifest the dataset.
    manifest.put("files", corpus.files().stream().limit(MANIFEST_FILES).map(f -> {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("path", f.path());
      e.put("format", f.format().name().toLowerCase(Locale.ROOT));
      e.put("bytes", f.length());
      return e;
    }).toList());
    manifest.put("config", configForManifest);
    Map<String, Object> tokInfo = new LinkedHashMap<>();
    tokInfo.put("name", tok.name());
    tokInfo.put("spec", o.tokenizer().value());
    tokInfo.put("vocab_size", tok.vocabSize());
    tokInfo.put("end_of_text", tok.endOfText());
    manifest.put("tokenizer", tokInfo);
    manifest.put("context", o.context());
    manifest.put("window_tokens", o.context() + 1);
    Map<String, Object> totals = totals(all);
    counts.put("total", totals);
    manifest.put("counts", counts);
    long textBytes = (long) totals.get("text_bytes");
    long textTokens = (long) totals.get("text_tokens");
    manifest.put("bytes_per_token", textTokens == 0 ? 0 : (double) textBytes / textTokens);
    manifest.put("bytes_per_token_histogram", histogram(all));
    return manifest;
  }

  private static Map<String, Object> totals(List<PartitionSummary> all) {
    long textBytes = 0, textTokens = 0, documents = 0, invalid = 0, sourceBytes = 0, empty = 0;
    for (PartitionSummary s : all) {
      textBytes += s.textBytes();
      textTokens += s.textTokens();
      documents += s.documents();
      invalid += s.invalidUtf8();
      sourceBytes += s.sourceBytes();
      empty += s.emptyDocuments();
    }
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("documents", documents);
    totals.put("empty_documents", empty);
    totals.put("source_bytes", sourceBytes);
    totals.put("text_bytes", textBytes);
    totals.put("text_tokens", textTokens);
    totals.put("invalid_utf8", invalid);
    return totals;
  }

  /** Tokens by byte length; the last bucket holds the rest. */
  private static Map<String, Long> histogram(List<PartitionSummary> all) {
    long[] histogram = new long[HISTOGRAM_BUCKETS];
    for (PartitionSummary s : all) {
      for (int i = 0; i < histogram.length; i++) histogram[i] += s.lengthHistogram()[i];
    }
    Map<String, Long> hist = new LinkedHashMap<>();
    for (int i = 0; i < histogram.length; i++) {
      if (histogram[i] > 0) hist.put(i == histogram.length - 1 ? i + "+" : String.valueOf(i), histogram[i]);
    }
    return hist;
  }

  private static Iterator<Tuple2<DocKey, Tokenized>> tokenize(Tokenizers.Spec spec, long seed, double valFraction,
      Iterator<Document> docs) {
    Tokenizer tok = spec.open();
    int eot = tok.endOfText();
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return docs.hasNext();
      }

      @Override
      public Tuple2<DocKey, Tokenized> next() {
        Document d = docs.next();
        // The split and the order both come from the id, with different seeds so they are independent.
        String text = TextNormalizer.normalize(d.text());
        DocKey key = new DocKey(StableHash.unit(seed, d.id()) < valFraction, StableHash.hash64(seed + 1, d.id()), d.id(),
            StableHash.hash64(seed, text));
        // Whitespace-only documents carry no text to learn from.
        if (text.isBlank()) return new Tuple2<>(key, new Tokenized(new int[0], 0, d.sourceBytes(), d.invalidUtf8()));
        int[] ids = tok.encode(text);
        int[] withEot = Arrays.copyOf(ids, ids.length + 1);
        withEot[ids.length] = eot;
        return new Tuple2<>(key, new Tokenized(withEot, text.getBytes(StandardCharsets.UTF_8).length, d.sourceBytes(),
            d.invalidUtf8()));
      }
    };
  }

  private static PartitionSummary summarize(int partition, Iterator<Tokenized> it, int ctx, Tokenizers.Spec spec) {
    Tokenizer tok = spec.open();
    int[] lengths = new int[tok.vocabSize()];
    for (int id = 0; id < lengths.length; id++) lengths[id] = tok.isSpecial(id) ? -1 : tok.tokenBytes(id).length;
    long[] hist = new long[HISTOGRAM_BUCKETS];
    int[] head = new int[ctx];
    long[] headDocs = new long[ctx];
    int headLen = 0;
    long docs = 0, empty = 0, tokens = 0, textTokens = 0, textBytes = 0, sourceBytes = 0, invalid = 0;
    while (it.hasNext()) {
      Tokenized t = it.next();
      sourceBytes += t.sourceBytes();
      invalid += t.invalidUtf8();
      if (t.tokens().length == 0) {
        empty++;
        continue;
      }
      for (int id : t.tokens()) {
        if (headLen < ctx) {
          head[headLen] = id;
          headDocs[headLen++] = docs;
        }
        int len = lengths[id];
        if (len >= 0) {
          hist[Math.min(len, HISTOGRAM_BUCKETS - 1)]++;
          textTokens++;
        }
      }
      tokens += t.tokens().length;
      textBytes += t.textBytes();
      docs++;
    }
    return new PartitionSummary(partition, docs, empty, tokens, textTokens, textBytes, sourceBytes, invalid,
        Arrays.copyOf(head, headLen), Arrays.copyOf(headDocs, headLen), hist);
  }

  /** Where each partition sits in the split's stream, and the tokens that follow it. */
  record Placement(long[] tokenOffset, long[] docOffset, int[][] lookahead, long[][] lookaheadDocs, long total)
      implements Serializable {

    static Placement of(List<PartitionSummary> parts, int ctx) {
      int n = parts.size();
      long[] off = new long[n];
      long[] docOff = new long[n];
      long t = 0;
      long d = 0;
      for (int p = 0; p < n; p++) {
        off[p] = t;
        docOff[p] = d;
        t += parts.get(p).tokens();
        d += parts.get(p).documents();
      }
      int[][] la = new int[n][];
      long[][] laDocs = new long[n][];
      for (int p = 0; p < n; p++) {
        int[] tokens = new int[ctx];
        long[] docs = new long[ctx];
        int len = 0;
        // A head shorter than ctx is that whole partition, so concatenating heads is the stream.
        for (int q = p + 1; q < n && len < ctx; q++) {
          PartitionSummary s = parts.get(q);
          for (int i = 0; i < s.headTokens().length && len < ctx; i++) {
            tokens[len] = s.headTokens()[i];
            docs[len++] = docOff[q] + s.headDocs()[i];
          }
        }
        la[p] = Arrays.copyOf(tokens, len);
        laDocs[p] = Arrays.copyOf(docs, len);
      }
      return new Placement(off, docOff, la, laDocs, t);
    }
  }

  /**
   * Train documents to partitions [0, train), validation ones to [train, train + val), each split
   * cut into equal ranges of the order hash. The hash is uniform, so no sampling pass is needed and
   * partitions come out evenly sized; sorting within them then gives each split's global order.
   */
  static final class DocPartitioner extends Partitioner {
    private final int train;
    private final int val;

    DocPartitioner(int train, int val) {
      this.train = train;
      this.val = val;
    }

    @Override
    public int numPartitions() {
      return train + val;
    }

    @Override
    public int getPartition(Object key) {
      DocKey k = (DocKey) key;
      int n = k.val() ? val : train;
      // (order as unsigned 64-bit) * n / 2^64, in [0, n)
      int p = (int) Math.multiplyHigh(k.order() >>> 1, 2L * n);
      return k.val() ? train + p : p;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof DocPartitioner d && d.train == train && d.val == val;
    }

    @Override
    public int hashCode() {
      return 31 * train + val;
    }
  }

  /**
   * Writes both splits' shards in one Spark job (partitions {@code [0, trainParts)} are the train
   * split's, the rest the validation split's), so the small validation split does not wait for the
   * train split's slowest task and costs no job of its own. Returns the counts per split.
   */
  private static Map<String, Object> writeSplits(SparkSession spark, JavaRDD<Tokenized> ordered, int trainParts,
      List<PartitionSummary> all, Options o, StageOutput output) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int ctx = o.context();
    List<List<PartitionSummary>> summaries = List.of(all.subList(0, trainParts), all.subList(trainParts, all.size()));
    Placement[] placements = {Placement.of(summaries.get(0), ctx), Placement.of(summaries.get(1), ctx)};
    Broadcast<Placement[]> where = jsc.broadcast(placements);
    String[] dirs = new String[2];
    for (int v = 0; v < 2; v++) {
      dirs[v] = output.resolve(SPLITS[v]).toString();
      try {
        output.fs().mkdirs(new Path(dirs[v]));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create " + dirs[v], e);
      }
    }
    SerializableHadoopConf hadoop = new SerializableHadoopConf(jsc.hadoopConfiguration());
    CompressionCodecName codec = parquetCodec(o.compression());

    jsc.setJobDescription("write train and val shards");
    // Each partition becomes one shard of its split, numbered from 0 within the split, in stream order.
    ordered.mapPartitionsWithIndex((p, docs) -> {
      int v = p < trainParts ? 0 : 1;
      int local = p - (v == 0 ? 0 : trainParts);
      Iterator<Window> windows = pack(local, docs, where.value()[v], ctx);
      if (windows.hasNext()) writeShard(hadoop.get(), new Path(dirs[v]), local, windows, codec);
      return Collections.emptyIterator();
    }, true).count();
    where.destroy();

    Map<String, Object> counts = new LinkedHashMap<>();
    for (int v = 0; v < 2; v++) {
      int files = renameParts(output.fs(), new Path(dirs[v]));
      if (files == 0) {
        // No windows at all: one empty shard, so readers still find the schema.
        try {
          writeShard(jsc.hadoopConfiguration(), new Path(dirs[v]), 0, Collections.emptyIterator(), codec);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write an empty shard in " + dirs[v], e);
        }
        files = renameParts(output.fs(), new Path(dirs[v]));
      }
      List<PartitionSummary> mine = summaries.get(v);
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("documents", mine.stream().mapToLong(PartitionSummary::documents).sum());
      c.put("text_bytes", mine.stream().mapToLong(PartitionSummary::textBytes).sum());
      c.put("tokens", placements[v].total());
      c.put("text_tokens", mine.stream().mapToLong(PartitionSummary::textTokens).sum());
      c.put("windows", WindowPacker.windowCount(placements[v].total(), ctx));
      c.put("shards", files);
      counts.put(SPLITS[v], c);
    }
    return counts;
  }

  private static Iterator<Window> pack(int p, Iterator<Tokenized> docs, Placement where, int ctx) {
    List<Window> out = new ArrayList<>();
    long start = where.tokenOffset()[p];
    long end = p + 1 < where.tokenOffset().length ? where.tokenOffset()[p + 1] : where.total();
    long doc = where.docOffset()[p];
    WindowPacker packer = new WindowPacker(ctx, start, end, where.total(), out::add);
    while (docs.hasNext()) {
      int[] t = docs.next().tokens();
      if (t.length == 0) continue; // empty documents have no ordinal (see summarize)
      for (int id : t) packer.feed(id, doc);
      doc++;
    }
    int[] la = where.lookahead()[p];
    long[] laDocs = where.lookaheadDocs()[p];
    for (int i = 0; i < la.length && !packer.done(); i++) packer.feed(la[i], laDocs[i]);
    packer.finish();
    return out.iterator();
  }

  /**
   * Partition {@code p}'s shard, as {@code part-<p>-0.parquet} for {@link #renameParts}. Written under
   * a hidden attempt name and renamed, so a retried task replaces a failed attempt's partial file.
   */
  private static void writeShard(Configuration conf, Path dir, int p, Iterator<Window> windows,
      CompressionCodecName codec) throws IOException {
    TaskContext task = TaskContext.get();
    long attempt = task == null ? 0 : task.taskAttemptId();
    Path tmp = new Path(dir, String.format(".attempt-%05d-%d.parquet", p, attempt));
    Path target = new Path(dir, String.format("part-%05d-0.parquet", p));
    FileSystem fs = dir.getFileSystem(conf);
    ShardWriter.write(conf, tmp, windows, codec);
    if (fs.exists(target)) fs.delete(target, false);
    if (!fs.rename(tmp, target)) throw new IOException("cannot rename " + tmp + " to " + target);
  }

  /** {@code prepare.compression} (checked by {@link Options#from}) as Parquet's codec. */
  static CompressionCodecName parquetCodec(String conf) {
    return CompressionCodecName.fromConf(conf.equals("none") ? "uncompressed" : conf);
  }

  /** Gives Spark's part files stable names (part-00000.parquet) so reruns produce the same listing. */
  private static int renameParts(FileSystem fs, Path dir) {
    try {
      FileStatus[] parts = fs.listStatus(dir, p -> p.getName().startsWith("part-") && p.getName().endsWith(".parquet"));
      // part-<partition>-<uuid>...: order by the partition number, which is the order of the rows.
      Arrays.sort(parts, Comparator.comparingLong(s -> Long.parseLong(s.getPath().getName().split("-")[1])));
      for (int i = 0; i < parts.length; i++) {
        Path target = new Path(dir, String.format("part-%05d.parquet", i));
        if (!fs.rename(parts[i].getPath(), target)) throw new IOException("rename failed: " + parts[i].getPath());
      }
      fs.delete(new Path(dir, "_SUCCESS"), false);
      // What failed task attempts left behind.
      for (FileStatus f : fs.listStatus(dir, p -> p.getName().startsWith(".attempt-"))) fs.delete(f.getPath(), false);
      return parts.length;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot name shards in " + dir, e);
    }
  }
}
