package org.charsight.tokenize;

import java.util.Arrays;

/**
 * The tokens of chunks already encoded, looked up by a range of the text's chars without copying
 * it. Word frequencies are Zipfian: on the default corpus 95% of GPT-2 chunks repeat one seen
 * before, so most chunks skip the string copy, UTF-8 encoding and BPE that JTokkit does for each.
 *
 * <p>Open addressing with linear probing; not thread-safe (one per thread). When full it stops
 * adding: the chunks seen first in a corpus are mostly its frequent ones. Keys are char arrays:
 * comparing a Latin-1 {@code String} with a UTF-16 one goes char by char through both encodings,
 * which profiling showed taking a quarter of prepare's time.
 */
final class ChunkCache {
  /** Longer chunks are rare and expensive to hash; they go straight to BPE. */
  static final int MAX_CHUNK_CHARS = 32;

  private final char[][] keys;
  private final int[] hashes;
  private final int[][] values;
  private final int mask;
  private final int limit;
  private int size;

  /** @param capacity a power of two; the table holds at most half that many chunks */
  ChunkCache(int capacity) {
    if (Integer.bitCount(capacity) != 1) throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
    keys = new char[capacity][];
    hashes = new int[capacity];
    values = new int[capacity][];
    mask = capacity - 1;
    limit = capacity / 2;
  }

  static int hash(char[] text, int from, int to) {
    int h = 0;
    for (int i = from; i < to; i++) h = 31 * h + text[i];
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  /** The tokens of {@code text[from, to)}, or null when not cached. */
  int[] get(char[] text, int from, int to, int hash) {
    for (int slot = hash & mask; ; slot = (slot + 1) & mask) {
      char[] k = keys[slot];
      if (k == null) return null;
      if (hashes[slot] == hash && Arrays.equals(k, 0, k.length, text, from, to)) return values[slot];
    }
  }

  void put(char[] chunk, int hash, int[] tokens) {
    if (size >= limit) return;
    int slot = hash & mask;
    while (keys[slot] != null) {
      if (hashes[slot] == hash && Arrays.equals(keys[slot], chunk)) return;
      slot = (slot + 1) & mask;
    }
    keys[slot] = chunk;
    hashes[slot] = hash;
    values[slot] = tokens;
    size++;
  }

  int size() {
    return size;
  }
}
