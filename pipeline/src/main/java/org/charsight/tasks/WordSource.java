package org.charsight.tasks;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntFunction;
import org.charsight.common.StableHash;

/**
 * Where task words come from and how they are split, and the two non-word controls.
 *
 * <p>Training and held-out words must differ only in whether fine-tuning saw them: if held-out
 * words were rarer or longer, "transfer to unseen words" would be confounded with frequency and
 * length. So both are drawn from the same pool (the most frequent words) by stratified sampling
 * over frequency band x length, and the draw depends on the seed: each seed of a study has its own
 * split, and intervals over seeds include the choice of words.
 */
public final class WordSource {
  static final String CONSONANTS = "bcdfghjklmnpqrstvwxz";
  /** Frequency bands of the pool, by rank: band 0 holds its most frequent fifth. */
  static final int BANDS = 5;
  /** Longer words share the last length stratum (they are few). */
  static final int LONGEST_STRATUM = 10;

  private WordSource() {}

  /** Training and held-out words, and each pool word's frequency band. */
  public record Split(List<String> train, List<String> heldOut, Map<String, Integer> band) {}

  /**
   * The pool is the {@code ceil(maxTrain / (1 - fraction))} most frequent words (ties by the word);
   * in each stratum (frequency band, letters up to {@link #LONGEST_STRATUM}) the words are put in an
   * order drawn from the seed and every {@code 1/fraction}-th is held out, from a start drawn per
   * stratum (systematic sampling): each stratum gives the held-out words its share to within one
   * word, and the split is the same for the same words and seed on any machine.
   */
  public static Split split(Map<String, Long> frequency, int maxTrain, double fraction, long seed) {
    List<String> pool = new ArrayList<>(frequency.keySet());
    pool.sort(Comparator.comparingLong((String w) -> -frequency.get(w)).thenComparing(w -> w));
    int size = (int) Math.min(pool.size(), Math.ceil(maxTrain / (1 - fraction)));
    pool = pool.subList(0, size);
    Map<String, Integer> band = new HashMap<>();
    Map<String, List<String>> strata = new TreeMap<>();
    for (int rank = 0; rank < size; rank++) {
      String w = pool.get(rank);
      band.put(w, (int) ((long) rank * BANDS / size));
      strata.computeIfAbsent(band.get(w) + "|" + Math.min(w.length(), LONGEST_STRATUM), k -> new ArrayList<>()).add(w);
    }
    long s = seed ^ 0x5eed_face_0ff1_ceL;
    Set<String> held = new HashSet<>();
    for (Map.Entry<String, List<String>> stratum : strata.entrySet()) {
      List<String> words = new ArrayList<>(stratum.getValue());
      words.sort(Comparator.comparingDouble((String w) -> StableHash.unit(s, w)).thenComparing(w -> w));
      double start = StableHash.unit(s, "stratum " + stratum.getKey());
      for (int i = 0; i < words.size(); i++) {
        if (Math.floor(start + (i + 1) * fraction) > Math.floor(start + i * fraction)) held.add(words.get(i));
      }
    }
    List<String> train = new ArrayList<>();
    List<String> heldOut = new ArrayList<>();
    for (String w : pool) (held.contains(w) ? heldOut : train).add(w);
    return new Split(train.subList(0, Math.min(train.size(), maxTrain)), heldOut, band);
  }

  /**
   * Random consonant strings with the same length distribution as {@code words}, none of them a
   * word of the source (checked against {@code vocabulary}): strings no tokenizer has seen whole.
   */
  public static List<String> nonce(List<String> words, Set<String> vocabulary, int count, long seed) {
    Random rnd = new Random(seed);
    return distinct(words, vocabulary, count, rnd, len -> {
      StringBuilder sb = new StringBuilder(len);
      for (int i = 0; i < len; i++) sb.append(CONSONANTS.charAt(rnd.nextInt(CONSONANTS.length())));
      return sb.toString();
    });
  }

  /**
   * Pronounceable non-words: letter sequences from a bigram model of {@code words} (the first
   * letter by how often words start with it, each next letter by how often it follows the previous
   * one), with the lengths of {@code words}, none a word of the source. Unlike consonant strings
   * they tokenize into ordinary pieces, so they test spelling on word-like tokens no word brought.
   */
  public static List<String> pseudowords(List<String> words, Set<String> vocabulary, int count, long seed) {
    int[][] follows = new int[27][26];   // row 26: the word start
    for (String w : words) {
      int prev = 26;
      for (char c : w.toCharArray()) {
        follows[prev][c - 'a']++;
        prev = c - 'a';
      }
    }
    Random rnd = new Random(seed ^ 0x9e37_79b9_7f4a_7c15L);
    return distinct(words, vocabulary, count, rnd, len -> {
      StringBuilder sb = new StringBuilder(len);
      int prev = 26;
      while (sb.length() < len) {
        int next = draw(follows[prev], rnd);
        if (next < 0) next = draw(follows[26], rnd); // a letter nothing follows: start a new syllable
        sb.append((char) ('a' + next));
        prev = next;
      }
      return sb.toString();
    });
  }

  /** An index drawn in proportion to the counts; -1 if all are 0. */
  private static int draw(int[] counts, Random rnd) {
    int total = 0;
    for (int c : counts) total += c;
    if (total == 0) return -1;
    int r = rnd.nextInt(total);
    for (int i = 0; i < counts.length; i++) {
      r -= counts[i];
      if (r < 0) return i;
    }
    throw new IllegalStateException("unreachable");
  }

  /**
   * {@code count} distinct strings, none in {@code vocabulary}, made by {@code make} for lengths drawn
   * from {@code words}. A length is kept until a string of it is accepted: short strings are more
   * often words or repeats, and redrawing the length would skew the strings to longer ones.
   */
  private static List<String> distinct(List<String> words, Set<String> vocabulary, int count, Random rnd,
      IntFunction<String> make) {
    if (words.isEmpty()) throw new IllegalArgumentException("no words to match lengths to");
    List<String> out = new ArrayList<>(count);
    Set<String> seen = new HashSet<>();
    int attempts = 0;
    while (out.size() < count) {
      int len = words.get(rnd.nextInt(words.size())).length();
      for (int tries = 0; tries < 1000; tries++) {
        if (++attempts > count * 1000) throw new IllegalStateException("cannot make " + count + " distinct strings");
        String s = make.apply(len);
        if (!vocabulary.contains(s) && seen.add(s)) {
          out.add(s);
          break;
        }
      }
    }
    return out;
  }
}
