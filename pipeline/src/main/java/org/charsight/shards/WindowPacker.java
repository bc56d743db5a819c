package org.charsight.shards;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * Cuts one partition's share of a split's token stream into training windows.
 *
 * <p>The split's documents, each followed by end-of-text, form one stream of {@code total} tokens.
 * Window {@code k} is stream positions {@code [k*ctx, k*ctx + ctx + 1)}: {@code ctx + 1} tokens
 * (inputs plus shifted targets) with a stride of {@code ctx}, so consecutive windows share one token
 * and every token after the first is a prediction target exactly once. The last window may be
 * shorter (at least 2 tokens). A window belongs to the partition holding its first token; the
 * partition feeds its own tokens and then the following partitions' first tokens (lookahead) until
 * its last window is complete. Windows therefore do not depend on how the stream was partitioned.
 */
public final class WindowPacker {
  /** One row of a shard: global window index, first and last document ordinal it touches, tokens. */
  public record Window(long index, long docFirst, long docLast, int[] tokens) implements Serializable {}

  private final int ctx;
  private final long partEnd;
  private final long total;
  private final Consumer<Window> out;
  private final int[] tokens;
  private final long[] docs;
  private long pos;
  private long winStart;
  private int len;

  /**
   * @param partStart stream position of this partition's first token
   * @param partEnd stream position just after this partition's last token
   * @param total length of the whole stream
   */
  public WindowPacker(int ctx, long partStart, long partEnd, long total, Consumer<Window> out) {
    if (ctx < 1) throw new IllegalArgumentException("ctx must be >= 1, got " + ctx);
    this.ctx = ctx;
    this.partEnd = partEnd;
    this.total = total;
    this.out = out;
    this.tokens = new int[ctx + 1];
    this.docs = new long[ctx + 1];
    this.pos = partStart;
    this.winStart = ((partStart + ctx - 1) / ctx) * ctx;
  }

  /** True once every window starting in this partition has been emitted. */
  public boolean done() {
    return winStart >= partEnd || winStart > total - 2;
  }

  /** Feeds the token at the next stream position, with the ordinal of the document it belongs to. */
  public void feed(int token, long doc) {
    if (!done() && pos >= winStart) {
      tokens[len] = token;
      docs[len] = doc;
      len++;
      if (len == ctx + 1) {
        emit();
        tokens[0] = tokens[ctx];
        docs[0] = docs[ctx];
        len = 1;
        winStart += ctx;
      }
    }
    pos++;
  }

  /** Call after the last token fed; emits the short final window of the stream if it is ours. */
  public void finish() {
    if (done()) return;
    if (pos != total) {
      throw new IllegalStateException("window at " + winStart + " incomplete at position " + pos + " of " + total
          + ": lookahead too short");
    }
    if (len >= 2) emit();
    winStart = Long.MAX_VALUE;
  }

  private void emit() {
    int[] w = new int[len];
    System.arraycopy(tokens, 0, w, 0, len);
    out.accept(new Window(winStart / ctx, docs[0], docs[len - 1], w));
  }

  /** Number of windows a stream of {@code total} tokens yields. */
  public static long windowCount(long total, int ctx) {
    return total < 2 ? 0 : (total - 2) / ctx + 1;
  }
}
