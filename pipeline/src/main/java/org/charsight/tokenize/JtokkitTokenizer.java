package org.charsight.tokenize;

import com.knuddels.jtokkit.api.Encoding;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.charsight.tokenize.ChunkCache.Tokens;

/**
 * A tokenizer whose BPE runs in JTokkit: encoding, decoding and the per-id byte table.
 *
 * <p>Encoding gives exactly JTokkit's {@code encodeOrdinary}, faster: the text is cut into chunks
 * here (by {@link Gpt2Chunks} for GPT-2's pattern, else by the same regex JTokkit uses), and each
 * chunk's tokens come from a {@link ChunkCache} or, the first time, from JTokkit. BPE
 * never merges across chunks, and a chunk cut out of the text is cut by the pattern into itself, so
 * encoding chunk by chunk is encoding the text; {@code FastEncodingTest} compares the two. Both
 * steps read a copy of the text's chars (one bulk copy; {@code String.charAt} checks the string's
 * encoding on every call).
 */
abstract class JtokkitTokenizer implements Tokenizer {
  /** 2^17 slots, 64k chunks (the default corpus has 45k distinct), 4 MB of slots per concurrent call. */
  private static final int CACHE_SLOTS = 1 << 17;

  private final Encoding encoding;
  private final byte[][] bytesById;
  private final boolean gpt2Pattern;
  private final Pattern pattern;
  /**
   * Caches lent to encode calls, one per concurrent call. Not per thread: Spark's executors start
   * new task threads freely, and a cache per thread was refilled from scratch for many tasks.
   */
  private final ConcurrentLinkedDeque<Scratch> scratch = new ConcurrentLinkedDeque<>();

  /**
   * @param regex the pre-split pattern {@code encoding} was built with
   * @param bytesById bytes of every id, empty for special tokens; its length is the vocabulary size
   */
  JtokkitTokenizer(Encoding encoding, String regex, byte[][] bytesById) {
    this.encoding = encoding;
    this.bytesById = bytesById;
    this.gpt2Pattern = regex.equals(PreSplit.GPT2);
    this.pattern = PreSplit.compile(regex);
  }

  @Override
  public int vocabSize() {
    return bytesById.length;
  }

  @Override
  public int[] encode(String text) {
    Scratch w = scratch.pollFirst();
    if (w == null) w = new Scratch();
    try {
      return encode(text, w);
    } finally {
      scratch.offerFirst(w);
    }
  }

  private int[] encode(String text, Scratch w) {
    int n = text.length();
    char[] chars = w.chars(n);
    text.getChars(0, n, chars, 0);
    Tokens out = new Tokens(n / 3 + 8);
    if (gpt2Pattern) {
      for (int start = 0; start < n; ) {
        int end = Gpt2Chunks.end(chars, start, n);
        encodeChunk(chars, start, end, w.cache, out);
        start = end;
      }
    } else {
      Matcher m = pattern.matcher(text);
      while (m.find()) encodeChunk(chars, m.start(), m.end(), w.cache, out);
    }
    return out.toArray();
  }

  private void encodeChunk(char[] text, int from, int to, ChunkCache cache, Tokens out) {
    if (to - from > ChunkCache.MAX_CHUNK_CHARS) {
      out.addAll(encoding.encodeOrdinary(new String(text, from, to - from)).toArray());
      return;
    }
    int hash = ChunkCache.hash(text, from, to);
    if (cache.appendTo(text, from, to, hash, out)) return;
    int[] tokens = encoding.encodeOrdinary(new String(text, from, to - from)).toArray();
    cache.put(text, from, to, hash, tokens);
    out.addAll(tokens);
  }

  /** JTokkit's encoding, chunk cache and scanner bypassed: what the tests and benchmark compare with. */
  int[] encodeWithJtokkit(String text) {
    return encoding.encodeOrdinary(text).toArray();
  }

  @Override
  public byte[] tokenBytes(int id) {
    return bytesById[id].clone();
  }

  /** What an encode call reuses from earlier ones: a chunk cache and a buffer for the text's chars. */
  private static final class Scratch {
    /** Buffers up to this size are kept for the next text; a larger text gets its own. */
    private static final int KEEP_CHARS = 1 << 20;

    final ChunkCache cache = new ChunkCache(CACHE_SLOTS);
    private char[] chars = new char[4096];

    char[] chars(int n) {
      if (n <= chars.length) return chars;
      if (n > KEEP_CHARS) return new char[n];
      chars = new char[Math.max(n, Math.min(KEEP_CHARS, chars.length * 2))];
      return chars;
    }
  }
}
