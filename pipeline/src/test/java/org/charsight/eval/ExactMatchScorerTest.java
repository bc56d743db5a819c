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

  @Test
  void tokenBuckets() {
    assertEquals("1", ExactMatchScorer.tokensBucket(1));
    assertEquals("2", ExactMatchScorer.tokensBucket(2));
    assertEquals("3-4", ExactMatchScorer.tokensBucket(4));
    assertEquals("5+", ExactMatchScorer.tokensBucket(9));
  }
}
