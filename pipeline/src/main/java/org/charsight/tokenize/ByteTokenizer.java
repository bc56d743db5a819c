package org.charsight.tokenize;

import java.nio.charset.StandardCharsets;

/** The tokenizer-free arm: one token per UTF-8 byte (ids 0..255) and end-of-text = 256. */
public final class ByteTokenizer implements Tokenizer {
  public static final int END_OF_TEXT = 256;

  @Override
  public String name() {
    return "bytes";
  }

  @Override
  public int vocabSize() {
    return 257;
  }

  @Override
  public double bytesPerTokenHint() {
    return 1.0;
  }

  @Override
  public int endOfText() {
    return END_OF_TEXT;
  }

  @Override
  public int[] encode(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[b.length];
    for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
    return ids;
  }

  @Override
  public byte[] tokenBytes(int id) {
    if (id < 0 || id > END_OF_TEXT) throw new IllegalArgumentException("token id out of range: " + id);
    return id == END_OF_TEXT ? new byte[0] : new byte[] {(byte) id};
  }
}
