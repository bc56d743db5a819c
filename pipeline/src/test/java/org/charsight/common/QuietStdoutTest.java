package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class QuietStdoutTest {
  @Test
  void dropsOnlyNd4jGradientLinesAndKeepsEverythingElseInOrder() {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(new QuietStdout(sink), true, StandardCharsets.UTF_8);
    out.println("runs/quick/report");
    out.println("Added differentiated op multiply");
    out.println("Added differentiated op add");
    out.print("Added different"); // a prefix only, then something else: kept
    out.println("ly");
    out.print("partial ");
    out.flush();
    assertEquals("runs/quick/report\nAdded differently\npartial ", sink.toString(StandardCharsets.UTF_8));
    out.println("line ümlaut");
    assertEquals("runs/quick/report\nAdded differently\npartial line ümlaut\n", sink.toString(StandardCharsets.UTF_8));
  }
}
