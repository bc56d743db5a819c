package org.charsight.eval;

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

  /** Accuracy and its 95% percentile-bootstrap interval. */
  public record Accuracy(int n, int correct, double accuracy, double low, double high) {}

  public static Accuracy accuracy(boolean[] outcomes, long seed, int resamples) {
    int n = outcomes.length;
    int k = 0;
    for (boolean b : outcomes) if (b) k++;
    if (n == 0) return new Accuracy(0, 0, Double.NaN, Double.NaN, Double.NaN);
    double[] stats = new double[resamples];
    Random rnd = new Random(seed);
    for (int r = 0; r < resamples; r++) {
      int c = 0;
      for (int i = 0; i < n; i++) if (outcomes[rnd.nextInt(n)]) c++;
      stats[r] = (double) c / n;
    }
    java.util.Arrays.sort(stats);
    double low = stats[(int) Math.floor(0.025 * (resamples - 1))];
    double high = stats[(int) Math.ceil(0.975 * (resamples - 1))];
    return new Accuracy(n, k, (double) k / n, low, high);
  }

  /** Buckets for how many tokens the word takes: spelling matters most where words are few tokens. */
  public static String tokensBucket(int tokens) {
    if (tokens <= 1) return "1";
    if (tokens == 2) return "2";
    if (tokens <= 4) return "3-4";
    return "5+";
  }
}
