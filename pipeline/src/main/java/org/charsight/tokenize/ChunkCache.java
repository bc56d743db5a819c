package org.charsight.tokenize;

import java.util.Arrays;

/**
 * The tokens of chunks already encoded, looked up by a range of the text's chars without copying
 * it. Word frequencies are Zipfian: on the default corpus 98% of GPT-2 chunks repeat one seen
 * before, so most chunks skip the string copy, UTF-8 encoding and BPE that JTokkit does for each.
 *
 * <p>Open addressing with linear probing; not thread-safe (one per concurrent encode call). When
 * full it stops adding: the chunks seen first in a corpus are mostly its frequent ones.
 *
 * <p>The layout is for memory latency, which is what a lookup costs once the table outgrows the CPU
 * caches (and two executor threads on one physical core share them): a slot is eight ints in half
 * a cache line (hash, key length, the token when the chunk is a single token, as most are, where a
 * longer key's chars start in one shared char pool, and up to {@value #INLINE_CHARS} chars of the
 * key itself), so a hit on a short chunk, most of them, reads one cache line. Keys kept only in the
 * pool cost a second dependent read, which profiles of prepare on two threads showed as a quarter
 * of the stage; arrays of per-key objects cost five.
 */
final class ChunkCache {
  /** Longer chunks are rare and expensive to hash; they go straight to BPE. */
  static final int MAX_CHUNK_CHARS = 32;

  /** Keys up to this many chars live in their slot, two chars per int. */
  static final int INLINE_CHARS = 8;

  private static final int HASH = 0;
  private static final int LENGTH = 1; // 0 marks an empty slot: chunks are never empty
  private static final int TOKEN = 2; // the token id, or -1 - (index into multi)
  private static final int START = 3; // a longer key's first char in the pool
  private static final int KEY = 4; // INLINE_CHARS / 2 ints: a short key's chars
  private static final int SLOT = 8;

  private final int[] slots;
  private final int mask;
  private final int limit;
  private char[] pool = new char[1 << 14];
  private int poolSize;
  private int[][] multi = new int[256][];
  private int multiSize;
  private int size;

  /** @param capacity a power of two; the table holds at most half that many chunks */
  ChunkCache(int capacity) {
    if (Integer.bitCount(capacity) != 1) throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
    slots = new int[capacity * SLOT];
    mask = capacity - 1;
    limit = capacity / 2;
  }

  static int hash(char[] text, int from, int to) {
    int h = 0;
    for (int i = from; i < to; i++) h = 31 * h + text[i];
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  /** Appends the tokens of {@code text[from, to)} to {@code out} and returns true; false when not cached. */
  boolean appendTo(char[] text, int from, int to, int hash, Tokens out) {
    int slot = find(text, from, to, hash);
    if (slots[slot + LENGTH] == 0) return false;
    int token = slots[slot + TOKEN];
    if (token >= 0) out.add(token);
    else out.addAll(multi[-1 - token]);
    return true;
  }

  /** The slot holding the chunk, or the empty slot where it would go. */
  private int find(char[] text, int from, int to, int hash) {
    int len = to - from;
    for (int i = hash & mask; ; i = (i + 1) & mask) {
      int slot = i * SLOT;
      int l = slots[slot + LENGTH];
      if (l == 0) return slot;
      if (l == len && slots[slot + HASH] == hash && same(slot, text, from, len)) return slot;
    }
  }

  /** Plain loops: chunks are a few chars, too short for the vectorised Arrays.equals to pay off. */
  private boolean same(int slot, char[] text, int from, int len) {
    if (len <= INLINE_CHARS) {
      for (int i = 0, k = slot + KEY; i < len; i += 2, k++) {
        if (slots[k] != pack(text, from + i, from + len)) return false;
      }
      return true;
    }
    int start = slots[slot + START];
    for (int i = 0; i < len; i++) {
      if (pool[start + i] != text[from + i]) return false;
    }
    return true;
  }

  /** text[i] and text[i + 1] (0 past the end) as one int. */
  private static int pack(char[] text, int i, int end) {
    return text[i] | (i + 1 < end ? text[i + 1] << 16 : 0);
  }

  void put(char[] text, int from, int to, int hash, int[] tokens) {
    if (size >= limit || tokens.length == 0) return;
    int slot = find(text, from, to, hash);
    if (slots[slot + LENGTH] != 0) return;
    int len = to - from;
    if (len <= INLINE_CHARS) {
      for (int i = 0, k = slot + KEY; i < len; i += 2, k++) slots[k] = pack(text, from + i, to);
    } else {
      if (poolSize + len > pool.length) pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + len));
      System.arraycopy(text, from, pool, poolSize, len);
      slots[slot + START] = poolSize;
      poolSize += len;
    }
    int token;
    if (tokens.length == 1) {
      token = tokens[0];
    } else {
      if (multiSize == multi.length) multi = Arrays.copyOf(multi, multi.length * 2);
      multi[multiSize] = tokens;
      token = -1 - multiSize++;
    }
    slots[slot + HASH] = hash;
    slots[slot + LENGTH] = len;
    slots[slot + TOKEN] = token;
    size++;
  }

  int size() {
    return size;
  }

  /** A growing list of token ids. */
  static final class Tokens {
    private int[] a;
    private int size;

    Tokens(int capacity) {
      a = new int[Math.max(1, capacity)];
    }

    void add(int t) {
      if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
      a[size++] = t;
    }

    void addAll(int[] t) {
      if (size + t.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, size + t.length));
      System.arraycopy(t, 0, a, size, t.length);
      size += t.length;
    }

    int[] toArray() {
      return Arrays.copyOf(a, size);
    }
  }
}
