package org.charsight.probe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CsvTable;

/**
 * What a token's vector says about its spelling, measured by linear probes: for each letter a-z
 * whether the token contains it (26 binary probes, averaged), its first letter (26 classes) and its
 * length in letters (1 to 8+). The probes train on one set of tokens and are scored on another;
 * accuracy has a 95% bootstrap interval over the test tokens, beside the majority-class floor.
 */
final class SpellingProbe {
  static final String HEADER = "arm,vector,target,probes,train_tokens,test_tokens,accuracy,ci_low,ci_high,macro_f1,floor";
  static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz";
  static final int LONGEST = 8;
  /** The vector the first block receives: every arm. */
  static final String INPUT = "input";
  /** The char encoder's output alone, before the sum: char arms. */
  static final String CHAR_ENCODER = "char_encoder";
  /** Logistic regressions per vector: one per letter, one per {@link Target}. */
  static final int PROBES_PER_VECTOR = ALPHABET.length() + Target.values().length;

  private SpellingProbe() {}

  /** A token's letters: its bytes as text, lower-cased, letters a-z only ("" if none). */
  static String letters(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (char c : new String(bytes, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT).toCharArray()) {
      if (c >= 'a' && c <= 'z') sb.append(c);
    }
    return sb.toString();
  }

  /** The probes' targets for tokens with these letters: a label per token. */
  enum Target {
    FIRST_LETTER("first_letter"), LENGTH("length_in_letters");

    /** The target's name in probe.csv. */
    final String column;

    Target(String column) {
      this.column = column;
    }

    int label(String letters) {
      return this == FIRST_LETTER ? letters.charAt(0) - 'a' : Math.min(letters.length(), LONGEST) - 1;
    }
  }

  /** One row of probe.csv. */
  record Score(String arm, String vector, String target, int probes, int train, int test, double accuracy, double low,
      double high, double macroF1, double floor) {
    String[] fields() {
      return new String[] {arm, vector, target, Integer.toString(probes), Integer.toString(train), Integer.toString(test),
          f(accuracy), f(low), f(high), f(macroF1), f(floor)};
    }

    private static String f(double v) {
      return String.format(Locale.ROOT, "%.4f", v);
    }
  }

  /**
   * Every probe for one arm's vectors.
   *
   * @param vector which of the arm's vectors: {@link #INPUT} or {@link #CHAR_ENCODER}
   * @param trainLetters the letters of the tokens {@code trainX} holds, row by row (each non-empty)
   * @param afterEachProbe called {@link #PROBES_PER_VECTOR} times, after each probe (a skipped letter's too), from
   *     any thread
   */
  static List<Score> score(SparkSession spark, String arm, String vector, double[][] trainX, List<String> trainLetters,
      double[][] testX, List<String> testLetters, double regParam, int resamples, long seed, Runnable afterEachProbe) {
    List<int[]> trainY = new ArrayList<>();
    List<int[]> testY = new ArrayList<>();
    for (char c : ALPHABET.toCharArray()) {
      trainY.add(trainLetters.stream().mapToInt(l -> l.indexOf(c) >= 0 ? 1 : 0).toArray());
      testY.add(testLetters.stream().mapToInt(l -> l.indexOf(c) >= 0 ? 1 : 0).toArray());
    }
    for (Target t : Target.values()) {
      trainY.add(trainLetters.stream().mapToInt(t::label).toArray());
      testY.add(testLetters.stream().mapToInt(t::label).toArray());
    }
    List<LinearProbe.Fit> fits = fitAll(spark, trainX, trainY, testX, regParam, afterEachProbe);
    int[][] draws = LinearProbe.draws(testX.length, resamples, seed);
    int letters = ALPHABET.length();
    List<Score> out = new ArrayList<>();
    out.add(letterPresence(arm, vector, trainX.length, fits.subList(0, letters), testY.subList(0, letters), draws));
    for (Target t : Target.values()) {
      LinearProbe.Fit fit = fits.get(letters + t.ordinal());
      int[] y = testY.get(letters + t.ordinal());
      double[] acc = new double[draws.length];
      for (int d = 0; d < draws.length; d++) acc[d] = LinearProbe.accuracy(fit.predicted(), y, draws[d]);
      int[] floor = new int[y.length];
      java.util.Arrays.fill(floor, fit.majority());
      out.add(score(arm, vector, t.column, 1, trainX.length, testX.length, acc,
          LinearProbe.macroF1(fit.predicted(), y, draws[0]), LinearProbe.accuracy(floor, y, draws[0])));
    }
    return out;
  }

  /**
   * A fit per labelling, several at once: each fit is a few hundred one-task Spark jobs whose
   * scheduling, not their work, takes most of the time, so concurrent fits fill the cores. Each fit
   * is deterministic on its own ({@link LinearProbe#train}), so the results do not depend on the
   * interleaving. A letter labelling with one class (no training token has the letter, or every one
   * has) is not fitted: its entry is null.
   */
  private static List<LinearProbe.Fit> fitAll(SparkSession spark, double[][] trainX, List<int[]> trainY, double[][] testX,
      double regParam, Runnable afterEachProbe) {
    int letters = ALPHABET.length();
    // Threads made here inherit the caller's Spark job properties (the stage's quiet progress).
    ExecutorService pool = Executors.newFixedThreadPool(2 * Math.max(1, spark.sparkContext().defaultParallelism()));
    try {
      List<Future<LinearProbe.Fit>> futures = new ArrayList<>();
      for (int i = 0; i < trainY.size(); i++) {
        int[] y = trainY.get(i);
        boolean skipped = i < letters && java.util.Arrays.stream(y).distinct().count() < 2;
        futures.add(pool.submit(() -> {
          LinearProbe.Fit fit = skipped ? null : LinearProbe.fit(spark, trainX, y, testX, regParam);
          afterEachProbe.run();
          return fit;
        }));
      }
      List<LinearProbe.Fit> fits = new ArrayList<>();
      for (Future<LinearProbe.Fit> f : futures) fits.add(f.get());
      return fits;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while fitting probes", e);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The letter-presence probes as one score: accuracies averaged over the letters fitted (null fits are
   * letters left out), each bootstrap draw shared.
   */
  private static Score letterPresence(String arm, String vector, int train, List<LinearProbe.Fit> fits, List<int[]> testY,
      int[][] draws) {
    double[] acc = new double[draws.length];
    double f1 = 0;
    double floor = 0;
    int probes = 0;
    for (int i = 0; i < fits.size(); i++) {
      LinearProbe.Fit fit = fits.get(i);
      if (fit == null) continue;
      int[] y = testY.get(i);
      for (int d = 0; d < draws.length; d++) acc[d] += LinearProbe.accuracy(fit.predicted(), y, draws[d]);
      f1 += LinearProbe.macroF1(fit.predicted(), y, draws[0]);
      int[] majority = new int[y.length];
      java.util.Arrays.fill(majority, fit.majority());
      floor += LinearProbe.accuracy(majority, y, draws[0]);
      probes++;
    }
    for (int d = 0; d < acc.length; d++) acc[d] /= Math.max(1, probes);
    return score(arm, vector, "letter_present", probes, train, draws[0].length, acc, f1 / Math.max(1, probes),
        floor / Math.max(1, probes));
  }

  /** acc[0] is the point estimate, the rest bootstrap draws. */
  private static Score score(String arm, String vector, String target, int probes, int train, int test, double[] acc,
      double f1, double floor) {
    double[] boot = java.util.Arrays.copyOfRange(acc, 1, acc.length);
    java.util.Arrays.sort(boot);
    int last = boot.length - 1;
    double low = boot.length == 0 ? Double.NaN : boot[(int) Math.floor(0.025 * last)];
    double high = boot.length == 0 ? Double.NaN : boot[(int) Math.ceil(0.975 * last)];
    return new Score(arm, vector, target, probes, train, test, acc[0], low, high, f1, floor);
  }

  static String csv(List<Score> scores) {
    CsvTable t = new CsvTable(HEADER);
    for (Score s : scores) t.row(s.fields());
    return t.text();
  }
}
