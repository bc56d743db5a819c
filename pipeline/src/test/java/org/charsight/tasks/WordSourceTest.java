package org.charsight.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Word splits matched in frequency and length, drawn per seed; the two non-word controls. */
class WordSourceTest {

  /**
   * A Zipf-like vocabulary where, as in English, rarer words are longer: the confound a split by
   * frequency rank (training = commonest) would build in.
   */
  static Map<String, Long> zipfWords(int n) {
    Random rnd = new Random(11);
    Map<String, Long> f = new HashMap<>();
    for (int rank = 1; f.size() < n; rank++) {
      int len = 3 + Math.min(12, (int) (Math.log(rank) * 1.2) + rnd.nextInt(3));
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < len; i++) sb.append((char) ('a' + rnd.nextInt(26)));
      f.put(sb.toString(), Math.max(5, Math.round(1e6 / rank)));
    }
    return f;
  }

  @Test
  void trainingAndHeldOutWordsMatchInFrequencyAndLengthQuantiles() {
    Map<String, Long> f = zipfWords(20_000);
    WordSource.Split s = WordSource.split(f, 2000, 0.2, 1);
    assertEquals(2000, s.train().size());
    assertEquals(500, s.heldOut().size(), 5);
    Set<String> overlap = new HashSet<>(s.train());
    overlap.retainAll(s.heldOut());
    assertTrue(overlap.isEmpty(), "a word in both splits: " + overlap);
    for (String q : List.of("q25", "median", "q75")) {
      double trainF = (double) Tasks.quantiles(freq(s.train(), f)).get(q);
      double heldF = (double) Tasks.quantiles(freq(s.heldOut(), f)).get(q);
      assertEquals(1.0, heldF / trainF, 0.15, "frequency " + q + ": " + trainF + " vs " + heldF);
      double trainL = (double) Tasks.quantiles(len(s.train())).get(q);
      double heldL = (double) Tasks.quantiles(len(s.heldOut())).get(q);
      assertEquals(trainL, heldL, 0.5, "letters " + q);
    }
    // Each stratum gives the held-out split its share, to within one word.
    Map<String, int[]> strata = new HashMap<>();
    for (String w : s.train()) strata.computeIfAbsent(stratum(s, w), k -> new int[2])[0]++;
    for (String w : s.heldOut()) strata.computeIfAbsent(stratum(s, w), k -> new int[2])[1]++;
    for (Map.Entry<String, int[]> e : strata.entrySet()) {
      int total = e.getValue()[0] + e.getValue()[1];
      assertEquals(0.2 * total, e.getValue()[1], 1.0, "stratum " + e.getKey());
    }
  }

  @Test
  void aSeedsSplitIsReproducibleAndSeedsDiffer() {
    Map<String, Long> f = zipfWords(5000);
    WordSource.Split a = WordSource.split(f, 1000, 0.2, 1);
    assertEquals(a.heldOut(), WordSource.split(new HashMap<>(f), 1000, 0.2, 1).heldOut());
    List<String> b = WordSource.split(f, 1000, 0.2, 2).heldOut();
    assertNotEquals(a.heldOut(), b);
    Set<String> both = new HashSet<>(a.heldOut());
    both.retainAll(b);
    // Independent draws of 20% share about 20% of their words.
    assertEquals(0.2, (double) both.size() / a.heldOut().size(), 0.08);
  }

  @Test
  void nonceStringsAreConsonantsOfWordLengthsAndNeverWords() {
    List<String> words = List.of("cat", "horse", "strawberry", "ox", "tree", "bcd");
    List<String> nonce = WordSource.nonce(words, Set.copyOf(words), 300, 3);
    assertEquals(300, Set.copyOf(nonce).size());
    Set<Integer> lengths = Set.of(3, 5, 10, 2, 4);
    for (String s : nonce) {
      assertTrue(lengths.contains(s.length()), s);
      assertTrue(s.chars().allMatch(c -> WordSource.CONSONANTS.indexOf(c) >= 0), s);
      assertFalse(words.contains(s), s);
    }
  }

  @Test
  void pseudowordsFollowTheWordsBigramsAndAreNoWord() {
    List<String> words = new ArrayList<>(zipfWords(3000).keySet());
    words.replaceAll(w -> w.replaceAll("[^aeioubcdlmnrst]", "e")); // a small letter set to test bigrams against
    Set<String> bigrams = new HashSet<>();
    Set<Character> starts = new HashSet<>();
    for (String w : words) {
      starts.add(w.charAt(0));
      for (int i = 1; i < w.length(); i++) bigrams.add(w.substring(i - 1, i + 1));
    }
    Set<String> vocabulary = Set.copyOf(words);
    List<String> pseudo = WordSource.pseudowords(words, vocabulary, 500, 5);
    assertEquals(500, Set.copyOf(pseudo).size());
    Set<Integer> lengths = new HashSet<>();
    for (String w : words) lengths.add(w.length());
    for (String p : pseudo) {
      assertFalse(vocabulary.contains(p), p);
      assertTrue(lengths.contains(p.length()), p);
      assertTrue(starts.contains(p.charAt(0)), p);
      for (int i = 1; i < p.length(); i++) assertTrue(bigrams.contains(p.substring(i - 1, i + 1)), p);
    }
    assertEquals(pseudo, WordSource.pseudowords(words, vocabulary, 500, 5), "seeded");
    // The same length distribution as the words (short strings are rejected more often, as words
    // or repeats, which must not skew it).
    double wordsMean = words.stream().mapToInt(String::length).average().orElseThrow();
    double pseudoMean = pseudo.stream().mapToInt(String::length).average().orElseThrow();
    assertEquals(wordsMean, pseudoMean, 0.4, "mean letters");
  }

  @Test
  void nonWordsAvoidRareSourceWordsAsIfTheWholeSourceWereKnown() {
    Map<String, Long> frequent = new HashMap<>();
    for (String w : zipfWords(3000).keySet()) frequent.put(w, 5L);
    List<String> pool = new ArrayList<>(frequent.keySet());
    pool.sort(null);
    // Words the source has below the frequency threshold: the first strings a draw would make.
    Set<String> rare = new HashSet<>(WordSource.pseudowords(pool, frequent.keySet(), 500, 5).subList(0, 100));
    List<Set<String>> asked = new ArrayList<>();
    Tasks.Source source = new Tasks.Source(frequent, candidates -> {
      asked.add(candidates);
      Set<String> hits = new HashSet<>(candidates);
      hits.retainAll(rare);
      return hits;
    }, () -> { });
    List<String> got = Tasks.nonWords(source, known -> WordSource.pseudowords(pool, known, 500, 5));
    for (String w : got) assertFalse(rare.contains(w) || frequent.containsKey(w), w);
    Set<String> everything = new HashSet<>(frequent.keySet());
    everything.addAll(rare);
    assertEquals(WordSource.pseudowords(pool, everything, 500, 5), got, "the same as a draw that knew every source word");
    assertTrue(asked.size() >= 2, "the source was asked again after it named words: " + asked.size());
  }

  private static String stratum(WordSource.Split s, String w) {
    return s.band().get(w) + "|" + Math.min(w.length(), WordSource.LONGEST_STRATUM);
  }

  private static double[] freq(List<String> words, Map<String, Long> f) {
    return words.stream().mapToDouble(f::get).toArray();
  }

  private static double[] len(List<String> words) {
    return words.stream().mapToDouble(String::length).toArray();
  }
}
