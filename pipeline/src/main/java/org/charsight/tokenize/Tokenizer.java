package org.charsight.tokenize;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * What every stage needs from a tokenizer: ids 0..vocabSize-1, ordinary encoding (special-token
 * strings in the text stay text), an end-of-text id between documents, and the bytes of each token
 * (the char decomposition the char-aware model reads). Implementations are thread-safe.
 */
public interface Tokenizer {
  /** Stable name recorded in manifests: {@code gpt2}, {@code bytes}, or a trained tokenizer's name. */
  String name();

  int vocabSize();

  int endOfText();

  int[] encode(String text);

  /**
   * Typical UTF-8 bytes per token on English prose, used only to plan shard counts before the
   * corpus has been tokenized.
   */
  double bytesPerTokenHint();

  /** UTF-8 bytes of a token; empty for special tokens, which stand for no text. */
  byte[] tokenBytes(int id);

  /** Whether an id is a special token; by default only end-of-text is. */
  default boolean isSpecial(int id) {
    return id == endOfText();
  }

  /** Display text of a special token (e.g. {@code <|endoftext|>}); null for ordinary tokens. */
  default String specialText(int id) {
    return id == endOfText() ? "<|endoftext|>" : null;
  }

  /**
   * From the token byte tables, for every implementation: JTokkit's own decodeBytes fills a HashMap
   * on a token's first use, and Spark's task threads sharing one tokenizer broke it.
   */
  default byte[] decodeBytes(int[] ids, int from, int to) {
    ByteArrayOutputStream out = new ByteArrayOutputStream((to - from) * 4);
    for (int i = from; i < to; i++) {
      byte[] b = isSpecial(ids[i]) ? specialText(ids[i]).getBytes(StandardCharsets.UTF_8) : tokenBytes(ids[i]);
      out.write(b, 0, b.length);
    }
    return out.toByteArray();
  }

  /** Decodes to text; special tokens appear as their display text. */
  default String decode(int[] ids) {
    return new String(decodeBytes(ids, 0, ids.length), StandardCharsets.UTF_8);
  }
}
