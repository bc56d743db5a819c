package org.charsight.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TextHandlingTest {

  @Test
  void invalidUtf8SequencesAreReplacedAndCounted() {
    byte[] b = {'a', (byte) 0xff, 'b', (byte) 0xc3}; // stray continuation byte, truncated 2-byte char
    Utf8.Decoded d = Utf8.decode(b);
    assertEquals("a\uFFFDb\uFFFD", d.text());
    assertEquals(2, d.invalid());
  }

  @Test
  void literalReplacementCharactersAreNotCountedAsInvalid() {
    byte[] b = "a\uFFFDb".getBytes(StandardCharsets.UTF_8);
    assertEquals(0, Utf8.decode(b).invalid());
    byte[] mixed = {(byte) 0xef, (byte) 0xbf, (byte) 0xbd, (byte) 0x80, 'x'};
    Utf8.Decoded d = Utf8.decode(mixed);
    assertEquals("\uFFFD\uFFFDx", d.text());
    assertEquals(1, d.invalid());
  }

  @Test
  void fastAndCountingDecodersAgreeOnRandomBytes() {
    java.util.Random rnd = new java.util.Random(3);
    for (int trial = 0; trial < 2000; trial++) {
      byte[] b = new byte[rnd.nextInt(40)];
      rnd.nextBytes(b);
      Utf8.Decoded slow = Utf8.decodeCounting(b, 0, b.length);
      assertEquals(new String(b, StandardCharsets.UTF_8), slow.text(), "trial " + trial);
      assertEquals(slow, Utf8.decode(b), "trial " + trial);
    }
  }

  @Test
  void validUtf8DecodesWithNoInvalidCount() {
    String s = "naïve café — 東京 🚀";
    Utf8.Decoded d = Utf8.decode(s.getBytes(StandardCharsets.UTF_8));
    assertEquals(s, d.text());
    assertEquals(0, d.invalid());
    assertEquals("", Utf8.decode(new byte[0]).text());
  }

  @Test
  void strictDecodingRejectsPartialCharacters() {
    assertNull(Utf8.strict(new byte[] {(byte) 0xe6, (byte) 0x9d}));
    assertEquals("é", Utf8.strict("é".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void normalisationComposesToNfc() {
    assertEquals("\u00e9", TextNormalizer.normalize("e\u0301"));
  }

  @Test
  void normalisationDropsControlsButKeepsNewlineAndTab() {
    assertEquals("a\nbc\td", TextNormalizer.normalize("a\r\nb\u0000c\td"));
    assertEquals("xy", TextNormalizer.normalize("x\u0085\u001by"));
    assertEquals("plain", TextNormalizer.normalize("plain"));
  }

  @Test
  void formatsAreRecognisedByNameThroughCompressionSuffixes() {
    assertEquals(InputFormat.TEXT, InputFormat.fromFileName("a.txt"));
    assertEquals(InputFormat.TEXT, InputFormat.fromFileName("a.TXT.gz"));
    assertEquals(InputFormat.JSONL, InputFormat.fromFileName("part-1.jsonl.gz"));
    assertEquals(InputFormat.PARQUET, InputFormat.fromFileName("x.snappy.parquet"));
    assertNull(InputFormat.fromFileName("LICENSE"));
    assertNull(InputFormat.fromFileName("a.xyz"));
  }
}
