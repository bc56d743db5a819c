package org.charsight.tasks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.charsight.common.StableHash;

/**
 * Where task words come from and how they are split: a word is held out (never in any training
 * example) by a hash of the word itself, so the split is the same in every run and on every
 * machine; nonce strings are the non-word control.
 */
public final class WordSource {
  static final String CONSONANTS = "bcdfghjklmnpqrstvwxz";

  private WordSource() {}

  public static boolean heldOut(long seed, String word, double fraction) {
    return StableHash.unit(seed ^ 0x5eed_face_0ff1_ceL, word) < fraction;
  }

  /**
   * Random consonant strings with the same length distribution as {@code words}, none of them a
   * word of the source (checked against {@code vocabulary}).
   */
  public static List<String> nonce(List<String> words, Set<String> vocabulary, int count, long seed) {
    if (words.isEmpty()) throw new IllegalArgumentException("no words to match lengths to");
    Random rnd = new Random(seed);
    List<String> out = new ArrayList<>(count);
    Set<String> seen = new HashSet<>();
    int attempts = 0;
    while (out.size() < count) {
      if (++attempts > count * 100) throw new IllegalStateException("cannot make " + count + " distinct nonce strings");
      int len = words.get(rnd.nextInt(words.size())).length();
      StringBuilder sb = new StringBuilder(len);
      for (int i = 0; i < len; i++) sb.append(CONSONANTS.charAt(rnd.nextInt(CONSONANTS.length())));
      String s = sb.toString();
      if (!vocabulary.contains(s) && seen.add(s)) out.add(s);
    }
    return out;
  }
}
