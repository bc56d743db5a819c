package org.charsight.corpus;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 decoding that replaces invalid sequences with U+FFFD and counts them. */
public final class Utf8 {
  private Utf8() {}

  public record Decoded(String text, long invalid) {}

  public static Decoded decode(byte[] bytes, int offset, int length) {
    CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
    CharBuffer out = CharBuffer.allocate(length + 1);
    long invalid = 0;
    while (true) {
      CoderResult r = dec.decode(in, out, true);
      if (r.isUnderflow()) break;
      if (r.isOverflow() || !out.hasRemaining()) out = grow(out);
      if (r.isError()) {
        invalid++;
        out.put('\uFFFD');
        in.position(in.position() + r.length());
      }
    }
    dec.flush(out); // UTF-8 keeps no state to flush; required by the CharsetDecoder protocol
    out.flip();
    return new Decoded(out.toString(), invalid);
  }

  private static CharBuffer grow(CharBuffer out) {
    CharBuffer bigger = CharBuffer.allocate(out.capacity() * 2 + 16);
    out.flip();
    bigger.put(out);
    return bigger;
  }

  public static Decoded decode(byte[] bytes) {
    return decode(bytes, 0, bytes.length);
  }

  /** Strict decoding: the text if the bytes are valid UTF-8, otherwise null. */
  public static String strict(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
