package org.charsight.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class VerdictTest {

  @Test
  void aVerdictNeedsTheAdjustedTestAndAnIntervalOverSeedsThatExcludesZero() {
    assertEquals("better", Report.verdict(0.04, 0.001, 0.01, 0.07));
    assertEquals("worse", Report.verdict(-0.02, 0.01, -0.03, -0.005));
    // The answer study's first vocabulary had this row: count on held-out words, char - char-shuffled,
    // pooled p 0.0002 from one seed's +12.8 points while the other two seeds were at -2.3 and -3.4.
    assertEquals("pooled p < 0.05, interval includes 0", Report.verdict(0.0236, 0.0002, -0.0362, 0.1254));
    assertEquals("no detectable difference", Report.verdict(0.05, 0.06, 0.01, 0.09));
    assertEquals("no detectable difference", Report.verdict(0.0, Double.NaN, 0.0, 0.0));
  }

  @Test
  void eachSeedsDifferenceIsShownInTheRunsOrder() {
    Map<String, Double> arm = new TreeMap<>(Map.of("seed-1", 0.486, "seed-2", 0.445, "seed-3", 0.542));
    Map<String, Double> reference = new TreeMap<>(Map.of("seed-1", 0.509, "seed-2", 0.479, "seed-3", 0.414));
    assertEquals("-2.3 / -3.4 / +12.8", Report.bySeed(arm, reference));
    assertEquals("-", Report.bySeed(arm, new TreeMap<>(Map.of("seed-1", 0.5))));
    assertEquals("-", Report.bySeed(null, reference));
  }
}
