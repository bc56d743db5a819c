package org.charsight.tokenize;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE (JTokkit's r50k_base, bundled in its jar: nothing is downloaded).
 * Ids 0..50255 are BPE tokens, 50256 is {@code <|endoftext|>}.
 */
public final class Gpt2Tokenizer extends JtokkitTokenizer {
  public static final int END_OF_TEXT = 50256;

  public Gpt2Tokenizer() {
    this(Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE));
  }

  private Gpt2Tokenizer(Encoding encoding) {
    super(encoding, PreSplit.GPT2, byteTable(encoding));
  }

  private static byte[][] byteTable(Encoding encoding) {
    byte[][] bytesById = new byte[END_OF_TEXT + 1][];
    IntArrayList one = new IntArrayList(1);
    for (int id = 0; id < END_OF_TEXT; id++) {
      one.clear();
      one.add(id);
      bytesById[id] = encoding.decodeBytes(one);
    }
    bytesById[END_OF_TEXT] = new byte[0];
    return bytesById;
  }

  @Override
  public String name() {
    return "gpt2";
  }

  @Override
  public double bytesPerTokenHint() {
    return 4.5;
  }

  @Override
  public int endOfText() {
    return END_OF_TEXT;
  }
}
