package org.charsight.shards;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.charsight.shards.WindowPacker.Window;
import org.junit.jupiter.api.Test;

class WindowPackerTest {

  /** Packs a whole stream in one partition; docs[i] is the document of token i. */
  static List<Window> packAll(int[] stream, long[] docs, int ctx) {
    List<Window> out = new ArrayList<>();
    WindowPacker p = new WindowPacker(ctx, 0, stream.length, stream.length, out::add);
    for (int i = 0; i < stream.length; i++) p.feed(stream[i], docs[i]);
    p.finish();
    return out;
  }

  static int[] range(int n) {
    return IntStream.range(0, n).toArray();
  }

  @Test
  void windowsHoldContextPlusOneTokensWithStrideContext() {
    List<Window> w = packAll(range(10), new long[10], 3);
    assertEquals(3, w.size());
    assertArrayEquals(new int[] {0, 1, 2, 3}, w.get(0).tokens());
    assertArrayEquals(new int[] {3, 4, 5, 6}, w.get(1).tokens());
    assertArrayEquals(new int[] {6, 7, 8, 9}, w.get(2).tokens());
    assertEquals(List.of(0L, 1L, 2L), w.stream().map(Window::index).toList());
    assertEquals(3, WindowPacker.windowCount(10, 3));
  }

  @Test
  void lastWindowMayBeShorterButHasAtLeastTwoTokens() {
    List<Window> w = packAll(range(11), new long[11], 3);
    assertEquals(4, w.size());
    assertArrayEquals(new int[] {9, 10}, w.get(3).tokens());
    assertEquals(4, WindowPacker.windowCount(11, 3));
    // 12 tokens: window 3 is [9, 10, 11]; 13 tokens: [9..12] full, no window of one token.
    assertArrayEquals(new int[] {9, 10, 11}, packAll(range(12), new long[12], 3).get(3).tokens());
    assertEquals(4, packAll(range(13), new long[13], 3).size());
    assertEquals(4, WindowPacker.windowCount(13, 3));
  }

  @Test
  void streamsShorterThanTwoTokensGiveNoWindows() {
    assertEquals(0, packAll(range(1), new long[1], 3).size());
    assertEquals(0, packAll(range(0), new long[0], 3).size());
    assertEquals(1, packAll(range(2), new long[2], 3).size());
    assertEquals(0, WindowPacker.windowCount(1, 3));
  }

  @Test
  void windowsRecordTheFirstAndLastDocumentTheyTouch() {
    // docs: 0 0 0 1 1 2 2 2 2 3
    long[] docs = {0, 0, 0, 1, 1, 2, 2, 2, 2, 3};
    List<Window> w = packAll(range(10), docs, 4);
    // positions 0..4, 4..8, 8..9
    assertEquals(0, w.get(0).docFirst());
    assertEquals(1, w.get(0).docLast());
    assertEquals(1, w.get(1).docFirst());
    assertEquals(2, w.get(1).docLast());
    assertEquals(2, w.get(2).docFirst());
    assertEquals(3, w.get(2).docLast());
  }

  @Test
  void anyPartitioningWithLookaheadGivesTheSameWindows() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      int n = rnd.nextInt(60);
      int ctx = 1 + rnd.nextInt(9);
      int[] stream = rnd.ints(n, 0, 1000).toArray();
      long[] docs = new long[n];
      for (int i = 1; i < n; i++) docs[i] = docs[i - 1] + (rnd.nextInt(4) == 0 ? 1 : 0);
      List<Window> expected = packAll(stream, docs, ctx);

      // Random cut points, including empty partitions.
      List<Integer> cuts = new ArrayList<>(List.of(0));
      while (cuts.get(cuts.size() - 1) < n) cuts.add(Math.min(n, cuts.get(cuts.size() - 1) + rnd.nextInt(ctx * 2 + 1)));
      List<Window> got = new ArrayList<>();
      for (int p = 0; p + 1 < cuts.size(); p++) {
        int start = cuts.get(p);
        int end = cuts.get(p + 1);
        WindowPacker packer = new WindowPacker(ctx, start, end, n, got::add);
        for (int i = start; i < end; i++) packer.feed(stream[i], docs[i]);
        for (int i = end; i < Math.min(n, end + ctx) && !packer.done(); i++) packer.feed(stream[i], docs[i]);
        packer.finish();
      }
      assertEquals(expected.size(), got.size(), "trial " + trial);
      for (int i = 0; i < expected.size(); i++) {
        assertEquals(expected.get(i).index(), got.get(i).index());
        assertArrayEquals(expected.get(i).tokens(), got.get(i).tokens(), "trial " + trial + " window " + i);
        assertEquals(expected.get(i).docFirst(), got.get(i).docFirst());
        assertEquals(expected.get(i).docLast(), got.get(i).docLast());
      }
    }
  }
}
