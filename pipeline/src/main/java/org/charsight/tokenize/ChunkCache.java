package org.charsight.tokenize;

/**
 * The tokens of chunks already encoded, looked up by a range of the text without copying it.
 * Word frequencies are Zipfian: on the default corpus 95% of GPT-2 chunks repeat one seen before,
 * so most chunks skip the string copy, UTF-8 encoding and BPE that JTokkit does for each.
 *
 * <p>Open addressing with linear probing; not thread-safe (one per thread). When full it stops
 * adding: the chunks seen first in a corpus are mostly its frequent ones.
 */
final class ChunkCache {
  /** Longer chunks are rare and expensive to hash; they go straight to BPE. */
  static final int MAX_CHUNK_CHARS = 32;

  private final String[] keys;
  private final int[][] values;
  private final int mask;
  private final int limit;
  private int size;

  /** @param capacity a power of two; the table holds at most half that many chunks */
  ChunkCache(int capacity) {
    if (Integer.bitCount(capacity) != 1) throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
    keys = new String[capacity];
    values = new int[capacity][];
    mask = capacity - 1;
    limit = capacity / 2;
  }

  static int hash(String text, int from, int to) {
    int h = 0;
    for (int i = from; i < to; i++) h = 31 * h + text.charAt(i);
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  /** The tokens of {@code text[from, to)}, or null when not cached. */
  int[] get(String text, int from, int to, int hash) {
    int len = to - from;
    for (int slot = hash & mask; ; slot = (slot + 1) & mask) {
      String k = keys[slot];
      if (k == null) return null;
      if (k.length() == len && k.regionMatches(0, text, from, len)) return values[slot];
    }
  }

  void put(String chunk, int hash, int[] tokens) {
    if (size >= limit) return;
    int slot = hash & mask;
    while (keys[slot] != null) {
      if (keys[slot].equals(chunk)) return;
      slot = (slot + 1) & mask;
    }
    keys[slot] = chunk;
    values[slot] = tokens;
    size++;
  }

  int size() {
    return size;
  }
}
