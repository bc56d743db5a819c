package org.charsight.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BpeTrainerTest {

  static List<byte[]> chunks(String... s) {
    return Arrays.stream(s).map(x -> x.getBytes(StandardCharsets.UTF_8)).toList();
  }

  static List<String> mergedStrings(BpeTrainer.Result r) {
    return r.merges().stream().map(m -> new String(r.vocab().get(m.id()), StandardCharsets.UTF_8)).toList();
  }

  @Test
  void handWorkedCorpusGivesExactlyTheExpectedMergesInOrder() {
    // hug x10, pug x5, pun x12, bun x4, hugs x5. By hand:
    // pairs u-g 20, p-u 17, u-n 16, h-u 15, g-s 5, b-u 4           -> merge (u,g) 20
    // h-ug 15, p-u 12, u-n 16, p-ug 5, ug-s 5, b-u 4               -> merge (u,n) 16
    // h-ug 15, p-un 12, p-ug 5, ug-s 5, b-un 4                     -> merge (h,ug) 15
    // p-un 12, p-ug 5, hug-s 5, b-un 4                             -> merge (p,un) 12
    // p-ug 5 and hug-s 5 tie: smaller left id wins, 'p' (112) < hug (258) -> merge (p,ug) 5
    // hug-s 5, b-un 4                                              -> (hug,s) 5, then (b,un) 4; then nothing.
    BpeTrainer.Result r = BpeTrainer.train(chunks("hug", "pug", "pun", "bun", "hugs"), new long[] {10, 5, 12, 4, 5}, 100,
        null);
    assertEquals(List.of("ug", "un", "hug", "pun", "pug", "hugs", "bun"), mergedStrings(r));
    assertEquals(List.of(20L, 16L, 15L, 12L, 5L, 5L, 4L), r.merges().stream().map(BpeTrainer.Merge::count).toList());
    assertEquals(List.of(256, 257, 258, 259, 260, 261, 262), r.merges().stream().map(BpeTrainer.Merge::id).toList());
    BpeTrainer.Merge hug = r.merges().get(2);
    assertEquals('h', hug.left());
    assertEquals(256, hug.right());
    assertEquals(256 + 7, r.vocab().size());
  }

  @Test
  void equalCountsGoToTheSmallerLeftThenRightId() {
    BpeTrainer.Result r = BpeTrainer.train(chunks("cd", "ab", "ac"), new long[] {3, 3, 3}, 3, null);
    assertEquals(List.of("ab", "ac", "cd"), mergedStrings(r));
  }

  @Test
  void mergingReplacesNonOverlappingOccurrencesLeftToRight() {
    assertArrayEquals(new int[] {300, 97}, BpeTrainer.mergeIn(new int[] {97, 97, 97}, 97, 97, 300));
    assertArrayEquals(new int[] {300, 300}, BpeTrainer.mergeIn(new int[] {97, 97, 97, 97}, 97, 97, 300));
    assertArrayEquals(new int[] {98, 300, 99}, BpeTrainer.mergeIn(new int[] {98, 97, 98, 99}, 97, 98, 300));
  }

  @Test
  void vocabularyStartsWithTheBytesInOrder() {
    BpeTrainer.Result r = BpeTrainer.train(chunks("é"), new long[] {1}, 1, null);
    for (int b = 0; b < 256; b++) assertArrayEquals(new byte[] {(byte) b}, r.vocab().get(b));
    assertArrayEquals("é".getBytes(StandardCharsets.UTF_8), r.vocab().get(256));
  }

  /** The trainer's incremental bookkeeping must give what recounting every pair each step gives. */
  @Test
  void incrementalCountsGiveTheSameMergesAsAFullRecount() {
    Random rnd = new Random(5);
    for (int trial = 0; trial < 30; trial++) {
      int n = 20 + rnd.nextInt(200);
      List<byte[]> words = new ArrayList<>();
      long[] counts = new long[n];
      for (int i = 0; i < n; i++) {
        // Two-letter corpora with long words make overlapping merges (aa+a vs a+aa) common.
        boolean binary = trial % 3 == 0;
        byte[] w = new byte[1 + rnd.nextInt(binary ? 20 : 9)];
        for (int j = 0; j < w.length; j++) w[j] = (byte) ('a' + rnd.nextInt(binary ? 2 : 3 + trial % 5));
        words.add(w);
        counts[i] = 1 + rnd.nextInt(20);
      }
      int merges = 10 + rnd.nextInt(60);
      BpeTrainer.Result fast = BpeTrainer.train(words, counts, merges, null);
      List<int[]> slow = recountEveryStep(words, counts, merges);
      assertEquals(slow.size(), fast.merges().size(), "trial " + trial);
      for (int i = 0; i < slow.size(); i++) {
        BpeTrainer.Merge m = fast.merges().get(i);
        assertArrayEquals(slow.get(i), new int[] {m.left(), m.right(), m.id()}, "trial " + trial + " merge " + i);
      }
    }
  }

  /** Reference: recount all pairs every step, same tie rule, same reuse of existing byte strings. */
  static List<int[]> recountEveryStep(List<byte[]> words, long[] counts, int merges) {
    List<int[]> w = new ArrayList<>();
    for (byte[] b : words) {
      int[] s = new int[b.length];
      for (int i = 0; i < b.length; i++) s[i] = b[i] & 0xff;
      w.add(s);
    }
    List<String> vocab = new ArrayList<>();
    for (int b = 0; b < 256; b++) vocab.add(String.valueOf((char) b));
    List<int[]> out = new ArrayList<>();
    while (out.size() < merges) {
      Map<Long, Long> pc = new HashMap<>();
      for (int k = 0; k < w.size(); k++) {
        int[] s = w.get(k);
        for (int i = 0; i + 1 < s.length; i++) pc.merge(((long) s[i] << 32) | s[i + 1], counts[k], Long::sum);
      }
      long best = -1;
      long bestCount = 0;
      for (Map.Entry<Long, Long> e : pc.entrySet()) {
        if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
          best = e.getKey();
          bestCount = e.getValue();
        }
      }
      if (best < 0) break;
      int l = (int) (best >>> 32);
      int r = (int) best;
      String bytes = vocab.get(l) + vocab.get(r);
      int id = vocab.indexOf(bytes);
      if (id < 0) {
        id = vocab.size();
        vocab.add(bytes);
        out.add(new int[] {l, r, id});
      }
      for (int k = 0; k < w.size(); k++) w.set(k, BpeTrainer.mergeIn(w.get(k), l, r, id));
    }
    return out;
  }
}
