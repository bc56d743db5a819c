package org.charsight.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Token id -> its UTF-8 bytes, as the fixed-width table the char encoder reads: {@code [V][C]},
 * right-aligned, {@link CharEncoderLayer#PAD} before. A token longer than C keeps its last C bytes
 * (the end of a word carries its suffix, which spelling tasks probe most) and is counted.
 */
public record ByteTable(int[][] rows, int truncated, int maxBytes, BitSet occurs) {

  /** @param tokenBytes bytes of each id (empty for special tokens), e.g. from vocab.parquet */
  public static ByteTable of(List<byte[]> tokenBytes, int maxBytes) {
    int[][] rows = new int[tokenBytes.size()][];
    int truncated = 0;
    for (int id = 0; id < rows.length; id++) {
      byte[] b = tokenBytes.get(id);
      int[] r = new int[maxBytes];
      Arrays.fill(r, CharEncoderLayer.PAD);
      int n = Math.min(maxBytes, b.length);
      if (b.length > maxBytes) truncated++;
      for (int i = 0; i < n; i++) r[maxBytes - n + i] = b[b.length - n + i] & 0xff;
      rows[id] = r;
    }
    return new ByteTable(rows, truncated, maxBytes, null);
  }

  /** The same table, knowing which ids occur in the training data (see {@link #shuffled(long)}). */
  public ByteTable withOccurring(BitSet ids) {
    return new ByteTable(rows, truncated, maxBytes, ids == null ? null : (BitSet) ids.clone());
  }

  /**
   * The control: the same byte statistics, the wrong letters. Each token that occurs in the
   * training data ({@link #withOccurring}; unknown: every token with bytes) gets the row of another
   * occurring token with as many bytes, under a seeded permutation within each length; tokens that
   * never occur and special tokens keep their own row. (Permuting over all ids would hand occurring
   * tokens the spellings of ids the corpus never uses, such as unused byte values, and change which
   * lengths the encoder sees.)
   */
  public ByteTable shuffled(long seed) {
    Map<Integer, List<Integer>> byLength = new TreeMap<>();
    for (int id = 0; id < rows.length; id++) {
      int length = length(rows[id]);
      if (length > 0 && (occurs == null || occurs.get(id))) byLength.computeIfAbsent(length, k -> new ArrayList<>()).add(id);
    }
    int[][] out = rows.clone();
    Random rnd = new Random(seed);
    for (List<Integer> ids : byLength.values()) {
      int[] perm = ids.stream().mapToInt(Integer::intValue).toArray();
      for (int i = perm.length - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      for (int i = 0; i < perm.length; i++) out[ids.get(i)] = rows[perm[i]];
    }
    return new ByteTable(out, truncated, maxBytes, occurs);
  }

  /** Bytes in a row (those the encoder reads: at most maxBytes). */
  static int length(int[] row) {
    int n = 0;
    for (int b : row) if (b != CharEncoderLayer.PAD) n++;
    return n;
  }
}
