package org.charsight.tokenize;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE training on counted chunks, incrementally.
 *
 * <p>Start: every chunk is its UTF-8 bytes (ids 0..255 by byte value). Each step merges the most
 * frequent adjacent pair into a new token. Pair counts live in a map and a priority queue; a merge
 * rewrites only the chunks that contain the pair (found through a pair -> chunks index) and changes
 * only the counts of pairs in those chunks, so a step costs what it touches, not the corpus. Queue
 * entries whose count went stale are skipped when popped.
 *
 * <p>Ties: the higher count wins; on equal counts the pair with the smaller left id, then the
 * smaller right id. The result is therefore a function of the chunk counts alone.
 *
 * <p>If a merge ever produced bytes that are already a token, the chunks would use that token and
 * no new id is made, because a tiktoken rank table maps each byte string to one id. (Two million
 * random small corpora never produced such a merge; the guard keeps the rank file valid if one does.)
 */
public final class BpeTrainer {
  /** One merge: tokens {@code left} and {@code right} become {@code id}, seen {@code count} times. */
  public record Merge(int left, int right, int id, long count) {}

  /** Token bytes by id (0..255 are the bytes; then one per merge), and the merges in order. */
  public record Result(List<byte[]> vocab, List<Merge> merges, int aliasMerges) {}

  /** Reports progress: merges done so far out of the target. */
  public interface Progress {
    void update(int done, int target);
  }

  private final int[][] words;
  private final long[] counts;
  private final List<byte[]> vocab = new ArrayList<>();
  private final Map<String, Integer> idByBytes = new HashMap<>();
  private final Map<Long, long[]> pairCount = new HashMap<>();
  private final Map<Long, IntList> where = new HashMap<>();
  private final PriorityQueue<long[]> queue = new PriorityQueue<>(BpeTrainer::byPriority);

  private BpeTrainer(List<byte[]> chunks, long[] chunkCounts) {
    words = new int[chunks.size()][];
    counts = chunkCounts.clone();
    for (int i = 0; i < chunks.size(); i++) {
      byte[] b = chunks.get(i);
      words[i] = new int[b.length];
      for (int j = 0; j < b.length; j++) words[i][j] = b[j] & 0xff;
    }
    for (int b = 0; b < 256; b++) addToken(new byte[] {(byte) b});
  }

  /**
   * @param chunks distinct pre-split chunks as UTF-8 bytes
   * @param counts how often each chunk occurs in the corpus
   * @param merges how many new tokens to make
   * @return the vocabulary and merges; fewer merges than asked when the corpus has no more pairs
   */
  public static Result train(List<byte[]> chunks, long[] counts, int merges, Progress progress) {
    if (chunks.size() != counts.length) throw new IllegalArgumentException("one count per chunk");
    return new BpeTrainer(chunks, counts).run(merges, progress);
  }

  private static int byPriority(long[] x, long[] y) {
    int c = Long.compare(y[0], x[0]); // higher count first
    return c != 0 ? c : Long.compare(x[1], y[1]); // then smaller (left, right), packed as left<<32|right
  }

  private static long pair(int left, int right) {
    return ((long) left << 32) | (right & 0xffffffffL);
  }

  private int addToken(byte[] bytes) {
    int id = vocab.size();
    vocab.add(bytes);
    idByBytes.put(new String(bytes, StandardCharsets.ISO_8859_1), id);
    return id;
  }

  private Result run(int target, Progress progress) {
    for (int w = 0; w < words.length; w++) {
      int[] s = words[w];
      for (int i = 0; i + 1 < s.length; i++) {
        long p = pair(s[i], s[i + 1]);
        pairCount.computeIfAbsent(p, k -> new long[1])[0] += counts[w];
        where.computeIfAbsent(p, k -> new IntList()).addIfNotLast(w);
      }
    }
    pairCount.forEach((p, c) -> queue.add(new long[] {c[0], p}));

    List<Merge> merges = new ArrayList<>();
    int aliases = 0;
    int[] seen = new int[words.length];
    Arrays.fill(seen, -1);
    int step = 0;
    while (merges.size() < target) {
      long[] top = queue.poll();
      if (top == null) break; // no pair left anywhere: the corpus supports no more merges
      long p = top[1];
      long[] current = pairCount.get(p);
      if (current == null || current[0] != top[0] || current[0] <= 0) continue; // stale entry
      int left = (int) (p >>> 32);
      int right = (int) p;
      byte[] bytes = concat(vocab.get(left), vocab.get(right));
      Integer existing = idByBytes.get(new String(bytes, StandardCharsets.ISO_8859_1));
      int id;
      if (existing != null) {
        id = existing;
        aliases++;
      } else {
        id = addToken(bytes);
        merges.add(new Merge(left, right, id, current[0]));
        if (progress != null) progress.update(merges.size(), target);
      }
      apply(p, left, right, id, seen, step++);
    }
    return new Result(List.copyOf(vocab), List.copyOf(merges), aliases);
  }

  /** Rewrites every chunk holding (left, right) and moves the pair counts by the difference. */
  private void apply(long merged, int left, int right, int id, int[] seen, int step) {
    Map<Long, Long> delta = new HashMap<>();
    IntList holders = where.remove(merged);
    pairCount.remove(merged);
    for (int k = 0; k < holders.size; k++) {
      int w = holders.items[k];
      if (seen[w] == step) continue;
      seen[w] = step;
      int[] s = words[w];
      if (!contains(s, left, right)) continue; // index entries are never removed, only skipped
      long c = counts[w];
      for (int i = 0; i + 1 < s.length; i++) delta.merge(pair(s[i], s[i + 1]), -c, Long::sum);
      int[] t = mergeIn(s, left, right, id);
      words[w] = t;
      for (int i = 0; i + 1 < t.length; i++) {
        long q = pair(t[i], t[i + 1]);
        delta.merge(q, c, Long::sum);
        where.computeIfAbsent(q, key -> new IntList()).addIfNotLast(w);
      }
    }
    for (Map.Entry<Long, Long> e : delta.entrySet()) {
      long q = e.getKey();
      long d = e.getValue();
      if (d == 0 || q == merged) continue;
      long[] cur = pairCount.computeIfAbsent(q, key -> new long[1]);
      cur[0] += d;
      if (cur[0] > 0) queue.add(new long[] {cur[0], q});
      else pairCount.remove(q);
    }
  }

  private static boolean contains(int[] s, int left, int right) {
    for (int i = 0; i + 1 < s.length; i++) if (s[i] == left && s[i + 1] == right) return true;
    return false;
  }

  /** Replaces non-overlapping occurrences of (left, right), scanning left to right. */
  static int[] mergeIn(int[] s, int left, int right, int id) {
    int[] out = new int[s.length];
    int n = 0;
    for (int i = 0; i < s.length; i++) {
      if (i + 1 < s.length && s[i] == left && s[i + 1] == right) {
        out[n++] = id;
        i++;
      } else {
        out[n++] = s[i];
      }
    }
    return Arrays.copyOf(out, n);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  /** A growable int list; the pair index holds millions of these, so no boxing. */
  static final class IntList {
    int[] items = new int[2];
    int size;

    void addIfNotLast(int v) {
      if (size > 0 && items[size - 1] == v) return;
      if (size == items.length) items = Arrays.copyOf(items, size * 2);
      items[size++] = v;
    }
  }
}
