package org.charsight.bench;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;
import org.charsight.corpus.TextNormalizer;
import org.charsight.shards.Prepare;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;

/**
 * prepare's end-to-end throughput per core (read, normalise, split, sort, tokenize, pack, Parquet
 * write) beside raw single-thread encode loops over the same text, in the same JVM: JTokkit's own
 * (the reference) and charsight's (the same tokens, faster), which the stage uses.
 * The corpus can be repeated (as distinct documents) so Spark's fixed costs are amortised as on a
 * real corpus.
 */
public final class PrepareBenchmark {
  public static void main(String[] args) throws Exception {
    Path corpus = Path.of("data/corpus");
    int repeat = 4;
    List<Integer> cores = List.of(1, 2);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--corpus" -> corpus = Path.of(args[++i]);
        case "--repeat" -> repeat = Integer.parseInt(args[++i]);
        case "--cores" -> cores = Stream.of(args[++i].split(",")).map(Integer::parseInt).toList();
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Path work = Files.createTempDirectory("charsight-bench-");
    Path input = work.resolve("input");
    long bytes = replicate(corpus, input, repeat);
    System.out.printf("corpus: %s x %d = %.1f MB in %s%n", corpus, repeat, bytes / 1e6, input);

    List<String> texts = new ArrayList<>();
    long read = readAll(input, texts);
    Encoding jtokkit = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    double raw = rawEncodeMBps(texts, read, t -> jtokkit.encodeOrdinary(t).toArray());
    double own = rawEncodeMBps(texts, read, tok::encode);
    for (String t : texts) {
      String n = TextNormalizer.normalize(t);
      if (!java.util.Arrays.equals(jtokkit.encodeOrdinary(n).toArray(), tok.encode(n))) {
        throw new IllegalStateException("charsight's gpt2 encoding differs from JTokkit's");
      }
    }
    System.out.printf("raw JTokkit r50k encodeOrdinary, 1 thread: %.2f MB/s (the reference)%n", raw);
    System.out.printf("raw charsight gpt2 encode (scanner + chunk cache, same tokens), 1 thread: %.2f MB/s%n", own);

    // The same JTokkit loop on as many threads as each master has cores: on machines whose vCPUs
    // share physical cores, two busy threads get less than twice one, and this shows how much less.
    Map<Integer, Double> rawOnCores = new TreeMap<>();
    for (int c : cores) {
      rawOnCores.put(c, rawEncodeMBps(texts, read, t -> jtokkit.encodeOrdinary(t).toArray(), c));
      System.out.printf("raw JTokkit r50k encodeOrdinary, %d thread(s) at once: %.2f MB/s in total, %.2f per thread%n", c,
          rawOnCores.get(c), rawOnCores.get(c) / c);
    }

    System.out.println("| master | best wall s of 3 (prepare) | MB/s | MB/s per core | per core vs raw JTokkit"
        + " | raw JTokkit per thread, as many threads as cores | per core vs that | per core vs raw charsight |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    for (int c : cores) {
      CharsightConfig conf = CharsightConfig.load(null, List.of("progress.interval_ms=600000"));
      SparkSession spark = SparkSessions.start("bench", "local[" + c + "]", conf);
      try {
        // A whole warm-up run, so JIT compilation and Spark's first-job costs are not billed to the
        // measurement (the raw loops' best pass comes after two others, too).
        Prepare.run(spark, Prepare.Options.from(conf, List.of(input.toString()), work.resolve("warm-" + c).toString(), true),
            Map.of());
        // Best of three, as for the raw loop, so both sides are measured the same way.
        double s = Double.MAX_VALUE;
        for (int run = 0; run < 3; run++) {
          long t0 = System.nanoTime();
          Prepare.run(spark, Prepare.Options.from(conf, List.of(input.toString()), work.resolve("out-" + c).toString(),
              true), Map.of());
          s = Math.min(s, (System.nanoTime() - t0) / 1e9);
        }
        double mbps = bytes / 1e6 / s;
        double rawPerThread = rawOnCores.get(c) / c;
        System.out.printf("| local[%d] | %.1f | %.2f | %.2f | %.0f%% | %.2f | %.0f%% | %.0f%% |%n", c, s, mbps, mbps / c,
            100 * mbps / c / raw, rawPerThread, 100 * mbps / c / rawPerThread, 100 * mbps / c / own);
      } finally {
        spark.stop();
      }
    }
    System.out.printf("cores available: %d; java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    deleteTree(work);
  }

  /** Copies every corpus file repeat times under distinct paths, so copies are distinct documents. */
  static long replicate(Path corpus, Path out, int repeat) throws IOException {
    long total = 0;
    List<Path> files;
    try (Stream<Path> s = Files.walk(corpus)) {
      files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("_")).sorted().toList();
    }
    for (int r = 0; r < repeat; r++) {
      for (Path f : files) {
        Path t = out.resolve("copy-" + r).resolve(corpus.relativize(f));
        Files.createDirectories(t.getParent());
        Files.copy(f, t);
        total += Files.size(t);
      }
    }
    return total;
  }

  static long readAll(Path input, List<String> texts) throws IOException {
    long bytes = 0;
    try (Stream<Path> s = Files.walk(input)) {
      for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
        byte[] b = Files.readAllBytes(p);
        bytes += b.length;
        texts.add(new String(b, StandardCharsets.UTF_8));
      }
    }
    return bytes;
  }

  /** Best of three passes of a plain loop: normalise, encode, on one thread. */
  static double rawEncodeMBps(List<String> texts, long bytes, Function<String, int[]> encode) {
    return rawEncodeMBps(texts, bytes, encode, 1);
  }

  /**
   * Best of three passes of the plain loop on {@code threads} threads at once, each over every
   * threads-th document: what the machine gives the loop when that many cores are busy, in total MB/s.
   */
  static double rawEncodeMBps(List<String> texts, long bytes, Function<String, int[]> encode, int threads) {
    double best = Double.MAX_VALUE;
    AtomicLong sink = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int pass = 0; pass < 3; pass++) {
        List<Callable<Long>> work = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
          int first = k;
          work.add(() -> {
            long n = 0;
            for (int i = first; i < texts.size(); i += threads) n += encode.apply(TextNormalizer.normalize(texts.get(i))).length;
            return n;
          });
        }
        long t0 = System.nanoTime();
        for (Future<Long> f : pool.invokeAll(work)) sink.addAndGet(f.get());
        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("encoding failed", e.getCause());
    } finally {
      pool.shutdownNow();
    }
    if (sink.get() == 0) throw new IllegalStateException("nothing encoded");
    return bytes / 1e6 / best;
  }

  static void deleteTree(Path p) {
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
