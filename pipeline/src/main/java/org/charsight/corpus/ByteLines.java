package org.charsight.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads '\n'-terminated lines as raw bytes, so invalid UTF-8 can be counted rather than lost, and
 * refuses lines longer than a limit (a 10 MB "line" is a binary or minified file, not prose).
 */
final class ByteLines {
  /** Called when a line exceeds the limit; must throw. */
  interface TooLong {
    RuntimeException at(long lineNumber, long offset);
  }

  private final InputStream in;
  private final int maxLine;
  private final TooLong tooLong;
  private final byte[] buf = new byte[1 << 16];
  private int bufPos;
  private int bufLen;
  private byte[] line = new byte[256];
  private int lineLen;
  private long position;
  private long lineStart;
  private long lineNumber;
  private boolean eof;

  ByteLines(InputStream in, long startPosition, int maxLine, TooLong tooLong) {
    this.in = in;
    this.position = startPosition;
    this.maxLine = maxLine;
    this.tooLong = tooLong;
  }

  /** Reads the next line into {@link #bytes()}; false at end of input. */
  boolean next() throws IOException {
    lineLen = 0;
    lineStart = position;
    boolean any = false;
    while (true) {
      if (bufPos == bufLen) {
        if (eof) return any;
        bufLen = in.read(buf, 0, buf.length);
        bufPos = 0;
        if (bufLen <= 0) {
          bufLen = 0;
          eof = true;
          if (any) lineNumber++;
          return any;
        }
      }
      any = true;
      int start = bufPos;
      while (bufPos < bufLen && buf[bufPos] != '\n') bufPos++;
      append(start, bufPos - start);
      if (bufPos < bufLen) { // found '\n'
        bufPos++;
        position++;
        lineNumber++;
        return true;
      }
    }
  }

  private void append(int from, int n) {
    if (n == 0) return;
    if (lineLen + n > maxLine) throw tooLong.at(lineNumber + 1, lineStart);
    if (lineLen + n > line.length) line = Arrays.copyOf(line, Math.max(line.length * 2, lineLen + n));
    System.arraycopy(buf, from, line, lineLen, n);
    lineLen += n;
    position += n;
  }

  /** Skips to just after the next '\n' (used by a split that starts mid-file). */
  void skipPartialLine() throws IOException {
    while (true) {
      if (bufPos == bufLen) {
        bufLen = in.read(buf, 0, buf.length);
        bufPos = 0;
        if (bufLen <= 0) {
          bufLen = 0;
          eof = true;
          return;
        }
      }
      while (bufPos < bufLen) {
        position++;
        if (buf[bufPos++] == '\n') return;
      }
    }
  }

  byte[] bytes() {
    return line;
  }

  int length() {
    return lineLen;
  }

  /** Absolute offset of the current line's first byte. */
  long lineStart() {
    return lineStart;
  }

  /** 1-based number of the current line, counted from where reading started. */
  long lineNumber() {
    return lineNumber;
  }

  long position() {
    return position;
  }
}
