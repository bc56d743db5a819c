package org.charsight.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.charsight.common.UserError;
import org.junit.jupiter.api.Test;

/** Paired contrasts, McNemar's exact test and Holm's adjustment on hand-made tables, against values worked out by hand. */
class ContrastsTest {

  @Test
  void mcnemarExactIsTwiceTheBinomialTailOfTheDiscordantQuestions() {
    assertEquals(1.0, Significance.mcnemarExact(0, 0), 1e-12);
    assertEquals(2.0 / 32, Significance.mcnemarExact(0, 5), 1e-12);        // 2 * (1/2)^5
    assertEquals(2.0 * 11 / 1024, Significance.mcnemarExact(9, 1), 1e-12); // 2 * (C(10,0) + C(10,1)) / 2^10
    assertEquals(1.0, Significance.mcnemarExact(7, 7), 1e-12);
    // Large counts stay finite: 600 vs 400 discordant questions is far beyond chance.
    double p = Significance.mcnemarExact(600, 400);
    assertEquals(true, p > 0 && p < 1e-9, "p = " + p);
  }

  @Test
  void holmMultipliesTheSortedPValuesByTheRemainingTestsAndKeepsThemMonotone() {
    assertArrayEquals(new double[] {0.03, 0.06, 0.06, 0.02}, Significance.holm(new double[] {0.01, 0.04, 0.03, 0.005}), 1e-12);
    assertArrayEquals(new double[] {0.6, 0.5}, Significance.holm(new double[] {0.6, 0.25}), 1e-12);
    assertArrayEquals(new double[] {1.0, 1.0}, Significance.holm(new double[] {0.6, 0.55}), 1e-12); // capped at 1
    assertArrayEquals(new double[0], Significance.holm(new double[0]), 0);
  }

  @Test
  void eachContrastIsPairedTestedAndHolmAdjustedOverTheSpellingSplits() {
    ResultTables t = new ResultTables(1, 200);
    // reverse, held-out: char right on 10 of 10, char-shuffled on 0, baseline on 5 (the first five).
    // reverse, training words (outside the Holm family): all three arms right on every question.
    for (int i = 1; i <= 10; i++) {
      add(t, "char", "val_heldout", i, true);
      add(t, "char-shuffled", "val_heldout", i, false);
      add(t, "baseline", "val_heldout", i, i <= 5);
      for (String arm : List.of("char", "char-shuffled", "baseline")) add(t, arm, "val_train_words", i, true);
    }
    t.resultsCsv();
    List<String[]> rows = new ArrayList<>();
    for (String line : t.differencesCsv(List.of(Contrast.parse("k", "char - char-shuffled"), Contrast.parse("k", "char - baseline"),
        Contrast.parse("k", "char - baseline-matched"))).split("\n")) {
      rows.add(line.split(",", -1));
    }
    assertEquals(ResultTables.DIFFERENCES_HEADER, String.join(",", rows.get(0)));
    // Two contrasts (no baseline-matched arm) x two splits x buckets "1" (one token, see add) and "all".
    List<String> keys = rows.stream().skip(1).map(r -> r[0] + "-" + r[1] + " " + r[3] + " " + r[4]).toList();
    assertEquals(List.of("char-char-shuffled val_heldout 1", "char-char-shuffled val_heldout all",
        "char-char-shuffled val_train_words 1", "char-char-shuffled val_train_words all", "char-baseline val_heldout 1",
        "char-baseline val_heldout all", "char-baseline val_train_words 1", "char-baseline val_train_words all"), keys);
    String[] shuffled = rows.get(2);
    assertEquals("1.0000", shuffled[7]);
    assertEquals("10", shuffled[10]);
    assertEquals("0", shuffled[11]);
    assertEquals(ResultTables.f4(2.0 / 1024), shuffled[12]);
    String[] baseline = rows.get(6);
    assertEquals("0.5000", baseline[7]);
    assertEquals(ResultTables.f4(2.0 / 32), baseline[12]);
    // The family is the two held-out rows with all buckets: Holm doubles the smaller p, keeps the larger.
    assertEquals(ResultTables.f4(2 * 2.0 / 1024), shuffled[13]);
    assertEquals(ResultTables.f4(2.0 / 32), baseline[13]);
    for (int i : new int[] {1, 3, 4, 5, 7, 8}) assertEquals("", rows.get(i)[13], "outside the family: " + keys.get(i - 1));
    assertEquals("1.0000", rows.get(4)[12], "no discordant question on training words");
  }

  @Test
  void aContrastIsTwoDifferentArms() {
    assertEquals(new Contrast("char", "char-shuffled"), Contrast.parse("k", " char -  char-shuffled "));
    assertThrows(UserError.class, () -> Contrast.parse("evaluate.contrasts", "char-baseline"));
    assertThrows(UserError.class, () -> Contrast.parse("evaluate.contrasts", "char - char"));
    assertThrows(UserError.class, () -> Contrast.parse("evaluate.contrasts", "char - "));
    UserError typo = assertThrows(UserError.class, () -> Contrast.parse("evaluate.contrasts", "char - char-shufled"));
    assertTrue(typo.getMessage().contains("'char-shufled'"), typo.getMessage());
  }

  private static void add(ResultTables t, String arm, String split, int example, boolean correct) {
    t.add(new ResultTables.Scored("seed-1", arm, "reverse", split, 1, example, correct), null);
  }
}
