package org.charsight.common;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * ND4J 1.0.0-M2.1 prints "Added differentiated op ..." with {@code System.out.println} (not a
 * logger, so no log level can silence it) whenever a SameDiff layer builds its gradient
 * function: thousands of lines per run that would bury charsight's own progress. This stream
 * drops exactly those lines and passes everything else through, line by line.
 */
public final class QuietStdout extends FilterOutputStream {
  static final byte[] DROPPED_PREFIX = "Added differentiated op ".getBytes(StandardCharsets.UTF_8);
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();

  QuietStdout(OutputStream out) {
    super(out);
  }

  /** Replaces System.out once per JVM; a second call leaves it as it is. */
  public static synchronized void install() {
    if (System.out instanceof Installed) return;
    System.setOut(new Installed(new QuietStdout(new FileOutputStream(FileDescriptor.out))));
  }

  private static final class Installed extends PrintStream {
    Installed(OutputStream out) {
      super(out, true, StandardCharsets.UTF_8);
    }
  }

  @Override
  public synchronized void write(int b) throws IOException {
    line.write(b);
    if (b == '\n') emit();
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) throws IOException {
    for (int i = off; i < off + len; i++) write(b[i]);
  }

  @Override
  public synchronized void flush() throws IOException {
    // A partial line (a prompt, a progress dot) goes out at once unless it may still become a dropped line.
    if (line.size() > 0 && !startsLikeDropped()) emit();
    out.flush();
  }

  private boolean startsLikeDropped() {
    byte[] b = line.toByteArray();
    int n = Math.min(b.length, DROPPED_PREFIX.length);
    for (int i = 0; i < n; i++) if (b[i] != DROPPED_PREFIX[i]) return false;
    return true;
  }

  private void emit() throws IOException {
    boolean drop = line.size() >= DROPPED_PREFIX.length && startsLikeDropped();
    if (!drop) line.writeTo(out);
    line.reset();
  }
}
