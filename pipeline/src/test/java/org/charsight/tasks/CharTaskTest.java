package org.charsight.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.charsight.tasks.CharTask.Example;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class CharTaskTest {
  /** Seeds are mixed first: java.util.Random's first draws from consecutive seeds are correlated. */
  static Example make(CharTask t, String word, long seed) {
    return t.make(word, 0, new Random(org.charsight.common.StableHash.mix(seed))).orElseThrow();
  }

  @ParameterizedTest
  @CsvSource({"strawberry, yrrebwarts", "a, a", "noon, noon", "ab, ba"})
  void reverseWritesTheWordBackwards(String word, String expected) {
    assertEquals(expected, make(CharTask.REVERSE, word, 1).answer());
  }

  @ParameterizedTest
  @CsvSource({"the, t h e", "a, a", "letter, l e t t e r"})
  void spellSeparatesLettersAndSpellInverseJoinsThem(String word, String spaced) {
    assertEquals(spaced, make(CharTask.SPELL, word, 1).answer());
    Example inv = make(CharTask.SPELL_INVERSE, word, 1);
    assertEquals(word, inv.answer());
    assertTrue(inv.prompt().contains(spaced), inv.prompt());
  }

  @ParameterizedTest
  @CsvSource({"strawberry", "banana", "a", "mississippi", "rhythm"})
  void countAnswersTheTrueCountOfTheAskedLetter(String word) {
    for (long seed = 0; seed < 200; seed++) {
      Example e = make(CharTask.COUNT, word, seed);
      assertEquals(Integer.toString(CharTask.count(word, e.x())), e.answer(), word + " / " + e.x());
    }
  }

  @Test
  void countAsksAboutAbsentLettersAboutAThirdOfTheTimeAndNotOnlyTheMostFrequent() {
    Map<Character, Integer> asked = new HashMap<>();
    int absent = 0;
    int n = 6000;
    for (long seed = 0; seed < n; seed++) {
      Example e = make(CharTask.COUNT, "strawberry", seed);
      if (e.answer().equals("0")) absent++;
      else asked.merge(e.x(), 1, Integer::sum);
    }
    assertEquals(1.0 / 3, (double) absent / n, 0.03);
    // 8 distinct letters, drawn uniformly: 'r' (3 times in the word) is not favoured.
    assertEquals(8, asked.size());
    int r = asked.get('r');
    for (int c : asked.values()) assertEquals(r, c, 0.25 * r);
  }

  @ParameterizedTest
  @CsvSource({"banana", "strawberry", "a", "abcabc"})
  void indexIsTheFirstZeroBasedPositionOfAPresentLetter(String word) {
    for (long seed = 0; seed < 100; seed++) {
      Example e = make(CharTask.INDEX, word, seed);
      assertTrue(word.indexOf(e.x()) >= 0);
      assertEquals(Integer.toString(word.indexOf(e.x())), e.answer());
    }
    assertEquals("0", make(CharTask.INDEX, "a", 3).answer());
  }

  @ParameterizedTest
  @EnumSource(value = CharTask.class, names = {"SWAP", "SUB_CHAR"})
  void swapAndSubstituteReplaceEveryOccurrence(CharTask t) {
    for (long seed = 0; seed < 100; seed++) {
      Example e = make(t, "banana", seed);
      assertTrue("banana".indexOf(e.x()) >= 0 && e.x() != e.y());
      assertEquals("banana".replace(e.x(), e.y()), e.answer());
      assertFalse(e.answer().indexOf(e.x()) >= 0, "no " + e.x() + " left in " + e.answer());
    }
  }

  @Test
  void containsCharIsBalancedAndTrue() {
    int yes = 0;
    int n = 4000;
    for (long seed = 0; seed < n; seed++) {
      Example e = make(CharTask.CONTAINS_CHAR, "zebra", seed);
      boolean present = "zebra".indexOf(e.x()) >= 0;
      assertEquals(present ? "yes" : "no", e.answer());
      if (present) yes++;
    }
    assertEquals(0.5, (double) yes / n, 0.03);
  }

  @Test
  void insertPutsTheLetterAfterEveryAnchor() {
    for (long seed = 0; seed < 100; seed++) {
      Example e = make(CharTask.INS_CHAR, "banana", seed);
      StringBuilder sb = new StringBuilder();
      for (char c : "banana".toCharArray()) {
        sb.append(c);
        if (c == e.x()) sb.append(e.y());
      }
      assertEquals(sb.toString(), e.answer());
      assertEquals(6 + CharTask.count("banana", e.x()), e.answer().length());
    }
  }

  @Test
  void cuteExamplesComeOutExactly() {
    // CUTE's documented examples, reproduced by searching seeds for the same letters.
    assertEquals("thme", find(CharTask.INS_CHAR, "the", 'h', 'm').answer());
    assertEquals("he", find(CharTask.DEL_CHAR, "the", 't', '\0').answer());
    assertEquals("tce", find(CharTask.SUB_CHAR, "the", 'h', 'c').answer());
    assertEquals("teh", find(CharTask.SWAP_CHAR, "the", 'h', 'e').answer());
    assertEquals("no", find(CharTask.CONTAINS_CHAR, "the", 'l', '\0').answer());
  }

  static Example find(CharTask t, String word, char x, char y) {
    for (long seed = 0; seed < 100_000; seed++) {
      Example e = make(t, word, seed);
      if (e.x() == x && (y == '\0' || e.y() == y)) return e;
    }
    throw new AssertionError("no seed gives " + x + "/" + y);
  }

  @ParameterizedTest
  @CsvSource({"banana, nnn", "a, ''", "letter, lttr"})
  void deleteRemovesEveryOccurrence(String word, String withoutVowels) {
    for (long seed = 0; seed < 50; seed++) {
      Example e = make(CharTask.DEL_CHAR, word, seed);
      assertEquals(word.replace(String.valueOf(e.x()), ""), e.answer());
    }
    assertEquals("", make(CharTask.DEL_CHAR, "a", 0).answer(), "deleting the only letter leaves nothing");
  }

  @Test
  void swapCharNeedsTwoLettersThatOccurOnce() {
    assertEquals(Optional.empty(), CharTask.SWAP_CHAR.make("noon", 0, new Random(1)));
    assertEquals(Optional.empty(), CharTask.SWAP_CHAR.make("a", 0, new Random(1)));
    assertEquals(Optional.empty(), CharTask.SWAP_CHAR.make("aab", 0, new Random(1)));
    for (long seed = 0; seed < 50; seed++) {
      Example e = make(CharTask.SWAP_CHAR, "banner", seed); // b, a, e, r occur once
      assertEquals(1, CharTask.count("banner", e.x()));
      assertEquals(1, CharTask.count("banner", e.y()));
      char[] cs = "banner".toCharArray();
      cs["banner".indexOf(e.x())] = e.y();
      cs["banner".indexOf(e.y())] = e.x();
      assertEquals(new String(cs), e.answer());
    }
  }

  @ParameterizedTest
  @EnumSource(CharTask.class)
  void everyTaskHasFiveDistinctPhrasingsThatNameTheWordAndItsLetters(CharTask t) {
    assertTrue(t.phrasings.size() >= 5);
    assertEquals(t.phrasings.size(), Set.copyOf(t.phrasings).size());
    for (int p = 0; p < t.phrasings.size(); p++) {
      Example e = t.make("banner", p, new Random(p)).orElseThrow();
      assertTrue(e.prompt().contains(t == CharTask.SPELL_INVERSE ? "b a n n e r" : "\"banner\""), e.prompt());
      if (e.x() != 0) assertTrue(e.prompt().contains("\"" + e.x() + "\""), e.prompt());
      if (e.y() != 0) assertTrue(e.prompt().contains("\"" + e.y() + "\""), e.prompt());
      assertFalse(e.prompt().contains("%"), e.prompt());
    }
  }
}
