package org.charsight.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExactMatchScorerTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      " yrrebwarts| yrrebwarts| true",
      " yrrebwarts\\nQuestion: more| yrrebwarts| true",
      " yrrebwart| yrrebwarts| false",
      " Yrrebwarts| yrrebwarts| false",
      " yrrebwarts s| yrrebwarts| false",
      "|  | true"})
  void exactMatchCutsAtNewlineTrimsAndComparesExactly(String generated, String expected, boolean ok) {
    String g = generated == null ? "" : generated.replace("\\n", "\n");
    assertEquals(ok, ExactMatchScorer.correct(g, expected == null ? "" : expected.strip()));
  }

  @Test
  void accuracyCountsAndTheBootstrapIntervalBracketsIt() {
    boolean[] o = new boolean[200];
    for (int i = 0; i < 150; i++) o[i] = true;
    ExactMatchScorer.Accuracy a = ExactMatchScorer.accuracy(o, 1, 2000);
    assertEquals(200, a.n());
    assertEquals(150, a.correct());
    assertEquals(0.75, a.accuracy());
    // binomial SE = sqrt(.75*.25/200) = 0.0306: the 95% interval is about +-0.06
    assertEquals(0.69, a.low(), 0.02);
    assertEquals(0.81, a.high(), 0.02);
    assertEquals(a, ExactMatchScorer.accuracy(o, 1, 2000), "seeded: the same interval every time");
  }

  @Test
  void allCorrectOrNoneGiveDegenerateIntervals() {
    ExactMatchScorer.Accuracy all = ExactMatchScorer.accuracy(new boolean[] {true, true, true}, 1, 500);
    assertEquals(1.0, all.low());
    assertEquals(1.0, all.high());
    assertTrue(Double.isNaN(ExactMatchScorer.accuracy(new boolean[0], 1, 10).accuracy()));
    assertFalse(ExactMatchScorer.correct("", "x"));
  }

  private static boolean[] outcomes(int n, int correct) {
    boolean[] o = new boolean[n];
    for (int i = 0; i < correct; i++) o[i] = true;
    return o;
  }

  @Test
  void seedsThatDisagreeWidenTheIntervalBeyondOneRunsExampleNoise() {
    // Three seeds at 50%, 70%, 90% on 200 examples each: the mean is 70%, and the interval must
    // reflect the spread between seeds, wider than one seed's binomial +-6 points.
    var runs = java.util.List.of(outcomes(200, 100), outcomes(200, 140), outcomes(200, 180));
    ExactMatchScorer.Accuracy a = ExactMatchScorer.accuracy(runs, 3, 2000);
    assertEquals(3, a.runs());
    assertEquals(600, a.n());
    assertEquals(420, a.correct());
    assertEquals(0.70, a.accuracy(), 1e-12);
    assertTrue(a.high() - a.low() > 0.2, "interval " + a.low() + ".." + a.high());
    // Three seeds that agree give about the pooled binomial interval (600 examples: +-3.7 points).
    var same = java.util.List.of(outcomes(200, 140), outcomes(200, 140), outcomes(200, 140));
    ExactMatchScorer.Accuracy b = ExactMatchScorer.accuracy(same, 3, 2000);
    assertEquals(0.70, b.accuracy(), 1e-12);
    assertEquals(0.074, b.high() - b.low(), 0.02);
  }

  @Test
  void pairedDifferenceIsExactWhenArmsDifferOnFixedExamples() {
    // Arm a is right on 120 of 200, b on 100, and a is right wherever b is: a - b = +10 points;
    // since pairs stay together, the interval is that of 20 extra wins in 200, all above zero.
    boolean[] a = outcomes(200, 120);
    boolean[] b = outcomes(200, 100);
    ExactMatchScorer.Difference d = ExactMatchScorer.difference(java.util.List.of(a), java.util.List.of(b), 5, 2000);
    assertEquals(0.10, d.difference(), 1e-12);
    assertTrue(d.low() > 0.05 && d.high() < 0.15, d.low() + ".." + d.high());
    // The same marginal accuracies with no shared wins: the paired interval is wider and still > 0 here.
    boolean[] c = new boolean[200];
    for (int i = 80; i < 200; i++) c[i] = true;
    ExactMatchScorer.Difference e = ExactMatchScorer.difference(java.util.List.of(c), java.util.List.of(b), 5, 2000);
    assertEquals(0.10, e.difference(), 1e-12);
    assertTrue(e.high() - e.low() > d.high() - d.low());
    ExactMatchScorer.Difference none = ExactMatchScorer.difference(java.util.List.of(b), java.util.List.of(b), 5, 500);
    assertEquals(0.0, none.low());
    assertEquals(0.0, none.high());
  }

  @Test
  void tokenBuckets() {
    assertEquals("1", ExactMatchScorer.tokensBucket(1));
    assertEquals("2", ExactMatchScorer.tokensBucket(2));
    assertEquals("3-4", ExactMatchScorer.tokensBucket(4));
    assertEquals("5+", ExactMatchScorer.tokensBucket(9));
  }
}
