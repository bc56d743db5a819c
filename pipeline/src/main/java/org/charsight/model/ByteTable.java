package org.charsight.model;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Token id -> its UTF-8 bytes, as the fixed-width table the char encoder reads: {@code [V][C]},
 * right-aligned, {@link CharEncoderLayer#PAD} before. A token longer than C keeps its last C bytes
 * (the end of a word carries its suffix, which spelling tasks probe most) and is counted.
 */
public record ByteTable(int[][] rows, int truncated, int maxBytes) {

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
    return new ByteTable(rows, truncated, maxBytes);
  }

  /**
   * The control: each token gets the row of another token under a seeded permutation of the
   * tokens that have bytes (special tokens keep their empty row), so the model sees real byte
   * statistics but never a token's own spelling.
   */
  public ByteTable shuffled(long seed) {
    int[] withBytes = IntStream.range(0, rows.length)
        .filter(id -> rows[id][maxBytes - 1] != CharEncoderLayer.PAD).toArray();
    int[] perm = withBytes.clone();
    Random rnd = new Random(seed);
    for (int i = perm.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    int[][] out = new int[rows.length][];
    for (int id = 0; id < rows.length; id++) out[id] = rows[id];
    for (int i = 0; i < withBytes.length; i++) out[withBytes[i]] = rows[perm[i]];
    return new ByteTable(out, truncated, maxBytes);
  }
}
