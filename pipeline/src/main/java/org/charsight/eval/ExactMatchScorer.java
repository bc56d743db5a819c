package org.charsight.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Scoring of generated answers: the text generated after {@code Answer:} up to the first newline
 * or end-of-text, with surrounding spaces removed, must equal the expected answer exactly
 * (case included). Confidence intervals are percentile bootstraps, seeded.
 */
public final class ExactMatchScorer {
  private ExactMatchScorer() {}

  /** The answer part of generated text: cut at the first newline, then trimmed. */
  public static String answerOf(String generated) {
    int nl = generated.indexOf('\n');
    return (nl >= 0 ? generated.substring(0, nl) : generated).strip();
  }

  public static boolean correct(String generated, String expected) {
    return answerOf(generated).equals(expected);
  }

  /** Accuracy and its 95% percentile-bootstrap interval; {@code runs} is how many runs (seeds) went in. */
  public record Accuracy(int runs, int n, int correct, double accuracy, double low, double high) {}

  /** One arm's accuracy minus another's on the same examples, with its paired 95% interval. */
  public record Difference(int runs, int n, double difference, double low, double high) {}

  public static Accuracy accuracy(boolean[] outcomes, long seed, int resamples) {
    return accuracy(List.of(outcomes), seed, resamples);
  }

  /**
   * Accuracy over several runs (seeds) of the same evaluation: the mean of the runs' accuracies.
   * The interval resamples runs, then examples within each drawn run, so it widens when seeds
   * disagree and not only when examples are few; with one run it is the plain example bootstrap.
   */
  public static Accuracy accuracy(List<boolean[]> runs, long seed, int resamples) {
    int n = 0;
    int k = 0;
    List<int[]> values = new ArrayList<>();
    for (boolean[] r : runs) {
      int[] v = new int[r.length];
      for (int i = 0; i < r.length; i++) k += v[i] = r[i] ? 1 : 0;
      values.add(v);
      n += r.length;
    }
    double[] m = hierarchicalMean(values, seed, resamples);
    return new Accuracy(runs.size(), n, k, m[0], m[1], m[2]);
  }

  /**
   * Accuracy of {@code a} minus accuracy of {@code b}, where {@code a.get(r)[i]} and
   * {@code b.get(r)[i]} are the two arms' outcomes on the same example of run r. Resampling keeps
   * the pairs together, so the interval reflects the arms' difference, not each arm's noise.
   */
  public static Difference difference(List<boolean[]> a, List<boolean[]> b, long seed, int resamples) {
    if (a.size() != b.size()) throw new IllegalArgumentException("runs differ: " + a.size() + " vs " + b.size());
    int n = 0;
    List<int[]> diffs = new ArrayList<>();
    for (int r = 0; r < a.size(); r++) {
      if (a.get(r).length != b.get(r).length) throw new IllegalArgumentException("run " + r + ": examples differ");
      int[] d = new int[a.get(r).length];
      for (int i = 0; i < d.length; i++) d[i] = (a.get(r)[i] ? 1 : 0) - (b.get(r)[i] ? 1 : 0);
      diffs.add(d);
      n += d.length;
    }
    double[] m = hierarchicalMean(diffs, seed, resamples);
    return new Difference(a.size(), n, m[0], m[1], m[2]);
  }

  /**
   * {mean, 2.5% and 97.5% percentiles} of the mean over runs of each run's mean value; resamples
   * runs, then values within each drawn run. NaN when a run (or everything) is empty.
   */
  private static double[] hierarchicalMean(List<int[]> runs, long seed, int resamples) {
    if (runs.isEmpty() || runs.stream().anyMatch(r -> r.length == 0)) return new double[] {Double.NaN, Double.NaN, Double.NaN};
    double point = 0;
    for (int[] r : runs) point += mean(r, null) / runs.size();
    double[] stats = new double[resamples];
    Random rnd = new Random(seed);
    for (int s = 0; s < resamples; s++) {
      double sum = 0;
      for (int j = 0; j < runs.size(); j++) sum += mean(runs.get(rnd.nextInt(runs.size())), rnd);
      stats[s] = sum / runs.size();
    }
    double[] ci = interval(stats);
    return new double[] {point, ci[0], ci[1]};
  }

  /** Mean of the values, or of a bootstrap resample of them when {@code rnd} is given. */
  private static double mean(int[] v, Random rnd) {
    long c = 0;
    for (int i = 0; i < v.length; i++) c += v[rnd == null ? i : rnd.nextInt(v.length)];
    return (double) c / v.length;
  }

  private static double[] interval(double[] stats) {
    Arrays.sort(stats);
    int last = stats.length - 1;
    return new double[] {stats[(int) Math.floor(0.025 * last)], stats[(int) Math.ceil(0.975 * last)]};
  }

  /** Buckets for how many tokens the word takes: spelling matters most where words are few tokens. */
  public static String tokensBucket(int tokens) {
    if (tokens <= 1) return "1";
    if (tokens == 2) return "2";
    if (tokens <= 4) return "3-4";
    return "5+";
  }
}
