package org.charsight.eval;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Tests behind the report's verdicts. Two arms answer the same questions, so only the questions
 * they disagree on carry information about which is better (McNemar); many contrasts and tasks are
 * judged at once, so the p-values are adjusted for multiplicity (Holm: controls the chance of any
 * false "better" or "worse" at 5%, with no assumption about how the tests depend on each other).
 */
final class Significance {
  private Significance() {}

  /** {questions only a got right, questions only b got right}, pooled over runs; a.get(r)[i] pairs with b.get(r)[i]. */
  static int[] discordant(List<boolean[]> a, List<boolean[]> b) {
    int onlyA = 0;
    int onlyB = 0;
    for (int r = 0; r < a.size(); r++) {
      for (int i = 0; i < a.get(r).length; i++) {
        if (a.get(r)[i] && !b.get(r)[i]) onlyA++;
        if (!a.get(r)[i] && b.get(r)[i]) onlyB++;
      }
    }
    return new int[] {onlyA, onlyB};
  }

  /**
   * Exact two-sided McNemar test: under "neither arm is better" each discordant question is
   * equally likely to favour either arm, so the smaller count is Binomial(b + c, 1/2); p is twice
   * its lower tail, at most 1 (1 when there is no discordant question).
   */
  static double mcnemarExact(int b, int c) {
    int m = b + c;
    if (m == 0) return 1.0;
    int k = Math.min(b, c);
    // Sum of C(m, i) / 2^m for i <= k, in logs: m can be thousands.
    double logTerm = -m * Math.log(2);   // i = 0
    double tail = Math.exp(logTerm);
    for (int i = 1; i <= k; i++) {
      logTerm += Math.log((double) (m - i + 1) / i);
      tail += Math.exp(logTerm);
    }
    return Math.min(1.0, 2 * tail);
  }

  /**
   * Holm's step-down adjustment: with p sorted ascending, the i-th (from 0) is multiplied by
   * (m - i), then made non-decreasing and capped at 1. Returned in the input's order.
   */
  static double[] holm(double[] p) {
    int m = p.length;
    Integer[] order = IntStream.range(0, m).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> p[i]).thenComparingInt(i -> i));
    double[] adjusted = new double[m];
    double running = 0;
    for (int rank = 0; rank < m; rank++) {
      running = Math.max(running, Math.min(1.0, (m - rank) * p[order[rank]]));
      adjusted[order[rank]] = running;
    }
    return adjusted;
  }
}
