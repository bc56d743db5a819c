package org.charsight.tokenize;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE (JTokkit's r50k_base, bundled in its jar: nothing is downloaded).
 * Ids 0..50255 are BPE tokens, 50256 is {@code <|endoftext|>}.
 */
public final class Gpt2Tokenizer implements Tokenizer {
  public static final int END_OF_TEXT = 50256;

  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
  private final byte[][] bytesById = new byte[END_OF_TEXT + 1][];

  public Gpt2Tokenizer() {
    IntArrayList one = new IntArrayList(1);
    for (int id = 0; id < END_OF_TEXT; id++) {
      one.clear();
      one.add(id);
      bytesById[id] = encoding.decodeBytes(one);
    }
    bytesById[END_OF_TEXT] = new byte[0];
  }

  @Override
  public String name() {
    return "gpt2";
  }

  @Override
  public int vocabSize() {
    return END_OF_TEXT + 1;
  }

  @Override
  public double bytesPerTokenHint() {
    return 4.5;
  }

  @Override
  public int endOfText() {
    return END_OF_TEXT;
  }

  @Override
  public int[] encode(String text) {
    return encoding.encodeOrdinary(text).toArray();
  }

  @Override
  public byte[] tokenBytes(int id) {
    return bytesById[id].clone();
  }

  @Override
  public boolean isSpecial(int id) {
    return id == END_OF_TEXT;
  }

  @Override
  public String specialText(int id) {
    return id == END_OF_TEXT ? "<|endoftext|>" : null;
  }

  @Override
  public byte[] decodeBytes(int[] ids, int from, int to) {
    IntArrayList list = new IntArrayList(to - from);
    for (int i = from; i < to; i++) list.add(ids[i]);
    return encoding.decodeBytes(list);
  }
}
