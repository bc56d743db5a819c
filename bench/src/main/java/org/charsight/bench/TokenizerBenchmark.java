package org.charsight.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.SparkSessions;
import org.charsight.corpus.TextNormalizer;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.charsight.tokenize.TrainTokenizer;
import org.charsight.tokenize.TrainedTokenizer;

/**
 * train-tokenizer on the default corpus: wall time for each vocabulary size (Spark counting +
 * merge loop) and the bytes per token of the result against GPT-2's, both measured by encoding the
 * whole corpus.
 */
public final class TokenizerBenchmark {
  public static void main(String[] args) throws Exception {
    Path corpus = Path.of("data/corpus");
    List<Integer> sizes = List.of(512, 4096, 16384);
    String master = "local[2]";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--corpus" -> corpus = Path.of(args[++i]);
        case "--vocab" -> sizes = Stream.of(args[++i].split(",")).map(Integer::parseInt).toList();
        case "--master" -> master = args[++i];
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    List<String> texts = new ArrayList<>();
    long bytes = 0;
    try (Stream<Path> s = Files.walk(corpus)) {
      for (Path p : s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("_")).sorted().toList()) {
        String t = TextNormalizer.normalize(new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
        texts.add(t);
        bytes += t.getBytes(StandardCharsets.UTF_8).length;
      }
    }
    System.out.printf("corpus: %s, %d files, %.2f MB normalised%n", corpus, texts.size(), bytes / 1e6);
    long gpt2Tokens = count(new Tokenizers.Spec("gpt2").open(), texts);
    System.out.println("| vocab | merges | wall s (whole stage) | merge loop s | bytes/token | GPT-2 bytes/token | tokens vs GPT-2 |");
    System.out.println("|---|---|---|---|---|---|---|");
    Path work = Files.createTempDirectory("charsight-bench-tok-");
    CharsightConfig conf = CharsightConfig.load(null, List.of("progress.interval_ms=600000"));
    SparkSession spark = SparkSessions.start("bench", master, conf);
    try {
      // Warm-up (JIT, Spark's first job), not reported.
      TrainTokenizer.run(spark, TrainTokenizer.Options.from(conf.with("train_tokenizer.vocab_size", 512),
          List.of(corpus.toString()), work.resolve("warm-up").toString(), true), Map.of());
      for (int v : sizes) {
        CharsightConfig c = conf.with("train_tokenizer.vocab_size", v);
        Path out = work.resolve("tok-" + v);
        long t0 = System.nanoTime();
        Map<String, Object> m = TrainTokenizer.run(spark,
            TrainTokenizer.Options.from(c, List.of(corpus.toString()), out.toString(), true), Map.of());
        double s = (System.nanoTime() - t0) / 1e9;
        Tokenizer tok = TrainedTokenizer.load(out.toString(), new Configuration());
        long tokens = count(tok, texts);
        System.out.printf("| %d | %d | %.1f | %.1f | %.3f | %.3f | %.3f |%n", v, v - 258, s, (Double) m.get("merge_seconds"),
            (double) bytes / tokens, (double) bytes / gpt2Tokens, (double) tokens / gpt2Tokens);
      }
    } finally {
      spark.stop();
    }
    System.out.printf("master %s; cores available: %d; java %s%n", master, Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
  }

  static long count(Tokenizer tok, List<String> texts) throws IOException {
    long n = 0;
    for (String t : texts) n += tok.encode(t).length;
    return n;
  }
}
