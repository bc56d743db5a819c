package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The char-shuffled control's table: wrong letters, the same lengths, only among tokens that occur. */
class ByteTableTest {

  @Test
  void spellingsArePermutedOnlyAmongOccurringTokensOfEqualLength() {
    // Ids: 0 special; 1-4 single bytes; 5-12 two to four letters; 13-16 never occur in training.
    String[] words = {"", "a", "b", "c", "d", "ab", "cd", "ef", "gh", "abc", "def", "ghij", "klmn", "x", "yz", "uvw", "opqr"};
    List<byte[]> vocab = new ArrayList<>();
    for (String w : words) vocab.add(w.getBytes(StandardCharsets.UTF_8));
    BitSet occurs = new BitSet();
    occurs.set(1, 13);
    ByteTable table = ByteTable.of(vocab, 4).withOccurring(occurs);
    ByteTable shuffled = table.shuffled(5);

    Map<String, Integer> moved = new HashMap<>();
    for (int id = 0; id < words.length; id++) {
      int[] own = table.rows()[id];
      int[] got = shuffled.rows()[id];
      if (id == 0 || !occurs.get(id)) {
        assertArrayEquals(own, got, "id " + id + " keeps its own row (special or never in training)");
        continue;
      }
      int from = indexOf(table.rows(), got);
      assertTrue(occurs.get(from), "id " + id + " got the spelling of id " + from + ", which occurs");
      assertEquals(ByteTable.length(own), ByteTable.length(got), "id " + id + ": same length");
      moved.merge(ByteTable.length(own) + (from == id ? " kept" : " moved"), 1, Integer::sum);
    }
    // Within each length the rows are a permutation: every occurring row is used exactly once.
    List<int[]> used = new ArrayList<>();
    for (int id = 1; id < 13; id++) used.add(shuffled.rows()[id]);
    for (int id = 1; id < 13; id++) {
      int[] row = table.rows()[id];
      assertEquals(1, used.stream().filter(r -> java.util.Arrays.equals(r, row)).count(), "row of id " + id + " used once");
    }
    assertTrue(moved.getOrDefault("1 moved", 0) >= 2 && moved.getOrDefault("2 moved", 0) >= 2, "spellings do move: " + moved);
    // Seeded: the same seed gives the same table, another seed another one.
    assertTrue(java.util.Arrays.deepEquals(shuffled.rows(), table.shuffled(5).rows()));
    assertTrue(!java.util.Arrays.deepEquals(shuffled.rows(), table.shuffled(6).rows()));
  }

  private static int indexOf(int[][] rows, int[] row) {
    for (int i = 0; i < rows.length; i++) if (java.util.Arrays.equals(rows[i], row)) return i;
    throw new AssertionError("row not in the table");
  }
}
