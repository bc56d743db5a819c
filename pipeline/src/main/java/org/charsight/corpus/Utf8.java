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
    // Fast path: the JDK's String constructor (which keeps ASCII text in its compact one-byte form)
    // replaces each malformed sequence with one U+FFFD, exactly as the decoder below does, so the
    // replacements are the U+FFFDs in the result that were not already U+FFFD (EF BF BD) in the input.
    String s = new String(bytes, offset, length, StandardCharsets.UTF_8);
    int replaced = countChar(s, '\uFFFD');
    if (replaced == 0) return new Decoded(s, 0);
    return decodeCounting(bytes, offset, length);
  }

  private static int countChar(String s, char c) {
    int n = 0;
    for (int i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
    return n;
  }

  /** Decodes with explicit malformed-input handling, counting each replaced sequence. */
  static Decoded decodeCounting(byte[] bytes, int offset, int length) {
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
