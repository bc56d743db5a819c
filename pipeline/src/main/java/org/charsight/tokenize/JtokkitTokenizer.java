package org.charsight.tokenize;

import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.IntArrayList;

/** A tokenizer whose BPE runs in JTokkit: encoding, decoding and the per-id byte table. */
abstract class JtokkitTokenizer implements Tokenizer {
  private final Encoding encoding;
  private final byte[][] bytesById;

  /** @param bytesById bytes of every id, empty for special tokens; its length is the vocabulary size */
  JtokkitTokenizer(Encoding encoding, byte[][] bytesById) {
    this.encoding = encoding;
    this.bytesById = bytesById;
  }

  @Override
  public int vocabSize() {
    return bytesById.length;
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
  public byte[] decodeBytes(int[] ids, int from, int to) {
    IntArrayList list = new IntArrayList(to - from);
    for (int i = from; i < to; i++) list.add(ids[i]);
    return encoding.decodeBytes(list);
  }
}
