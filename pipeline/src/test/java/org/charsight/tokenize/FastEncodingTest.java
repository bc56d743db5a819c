package org.charsight.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The scanner and chunk cache behind {@link JtokkitTokenizer#encode} give JTokkit's own tokens. */
class FastEncodingTest {
  private static final Pattern GPT2 = PreSplit.compile(PreSplit.GPT2);

  /**
   * Characters where the pattern's alternatives meet: every kind of whitespace (ASCII, no-break,
   * line and paragraph separators, NEL, ideographic), apostrophes and contraction letters in both
   * cases, letters and numbers outside ASCII (Arabic-Indic digit, Roman numeral, one half),
   * combining marks, format and control characters, a character outside the BMP, lone surrogates.
   */
  private static final String[] PIECES = {" ", " ", " ", "\n", "\n", "\t", "\r", "\u000b", "\u000c", "\u00a0", "\u2028",
      "\u2029", "\u0085", "\u3000", "\u1680", "\u001c", "'", "'", "s", "d", "m", "t", "l", "ll", "ve", "re", "v", "r", "e",
      "S", "LL", "A", "z", "\u00e9", "\u4e00", "1", "9", "\u0663", "\u2167", "\u00bd", "!", ".", "\"", "-", "\u0301",
      "\u00ad", "\u0000", "\u007f", "\ud83d\ude00", "\ud800", "\udc00", "\ufeff"};

  static String adversarial(Random rnd, int pieces) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pieces; i++) sb.append(PIECES[rnd.nextInt(PIECES.length)]);
    return sb.toString();
  }

  static List<String> regexChunks(String s) {
    List<String> out = new ArrayList<>();
    Matcher m = GPT2.matcher(s);
    int last = 0;
    while (m.find()) {
      assertEquals(last, m.start(), "the pattern skipped text in " + s);
      out.add(m.group());
      last = m.end();
    }
    assertEquals(s.length(), last);
    return out;
  }

  static List<String> scannerChunks(String s) {
    List<String> out = new ArrayList<>();
    char[] chars = s.toCharArray();
    for (int start = 0; start < s.length(); ) {
      int end = Gpt2Chunks.end(chars, start, chars.length);
      assertTrue(end > start, "no progress at " + start + " in " + s);
      out.add(s.substring(start, end));
      start = end;
    }
    return out;
  }

  @Test
  void everyCodePointIsClassedAsTheRegexClassesIt() {
    Pattern letter = PreSplit.compile("\\p{L}");
    Pattern number = PreSplit.compile("\\p{N}");
    Pattern space = PreSplit.compile("\\s");
    int[] seen = new int[5];
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      String s = new String(Character.toChars(cp));
      int expected = letter.matcher(s).matches() ? 1 : number.matcher(s).matches() ? 2 : space.matcher(s).matches() ? 3 : 4;
      int kind = Gpt2Chunks.kind(cp);
      if (kind != expected) throw new AssertionError(String.format("U+%04X: kind %d, regex says %d", cp, kind, expected));
      seen[kind]++;
    }
    assertTrue(seen[1] > 100_000 && seen[2] > 1_000 && seen[3] == 25 && seen[4] > 100_000,
        "letters " + seen[1] + ", numbers " + seen[2] + ", spaces " + seen[3]);
  }

  @Test
  void theScannerCutsTextAsThePatternDoes() {
    Random rnd = new Random(11);
    for (int trial = 0; trial < 20_000; trial++) {
      String s = trial % 2 == 0 ? adversarial(rnd, 1 + rnd.nextInt(40)) : TokenizersTest.randomUnicode(rnd, 1 + rnd.nextInt(60));
      assertEquals(regexChunks(s), scannerChunks(s), "trial " + trial);
    }
    for (String s : new String[] {"", " ", "  ", "a  b", "a \n b", "\n\nx", "it's", "IT'S", "'ll", "''s", " 's", "x'", "'",
        "   ", "1 2  3", "\u3000\u3000a", "end  "}) {
      assertEquals(regexChunks(s), scannerChunks(s), s);
    }
  }

  @Test
  void gpt2EncodingEqualsJtokkitsOnProseAndAdversarialText() throws IOException {
    JtokkitTokenizer gpt2 = new Gpt2Tokenizer();
    String prose = resource("/corpus/moby-dick-loomings.txt");
    int[] expected = gpt2.encodeWithJtokkit(prose);
    assertArrayEquals(expected, gpt2.encode(prose), "first pass (cache filling)");
    assertArrayEquals(expected, gpt2.encode(prose), "second pass (from the cache)");
    sameAsJtokkit(gpt2, new Random(5));
  }

  @Test
  void trainedEncodingEqualsJtokkitsForGpt2Gpt4AndCustomPatterns() throws IOException {
    String prose = resource("/corpus/moby-dick-loomings.txt");
    List<byte[]> vocab = new ArrayList<>();
    for (int b = 0; b < 256; b++) vocab.add(new byte[] {(byte) b});
    for (String merged : new String[] {"th", "the", " the", "in", " a", "er", "ing", " and", "ll", "'s"}) {
      vocab.add(merged.getBytes(StandardCharsets.UTF_8));
    }
    for (String regex : new String[] {PreSplit.GPT2, PreSplit.GPT4, "\\p{L}+|[^\\p{L}]"}) {
      JtokkitTokenizer tok = TrainedTokenizer.of(TrainedTokenizer.Files.build(vocab, "t", regex, Map.of()));
      assertArrayEquals(tok.encodeWithJtokkit(prose), tok.encode(prose), regex);
      sameAsJtokkit(tok, new Random(6));
    }
  }

  private static void sameAsJtokkit(JtokkitTokenizer tok, Random rnd) {
    for (int trial = 0; trial < 3_000; trial++) {
      String s = trial % 2 == 0 ? adversarial(rnd, 1 + rnd.nextInt(60)) : TokenizersTest.randomUnicode(rnd, 1 + rnd.nextInt(100));
      // Chunks longer than the cache takes, too.
      if (trial % 10 == 0) s = s + "x".repeat(40) + " " + "!".repeat(50) + s;
      assertArrayEquals(tok.encodeWithJtokkit(s), tok.encode(s), "trial " + trial);
    }
  }

  @Test
  void theCacheStopsGrowingAtHalfItsSlotsAndStillAnswers() {
    ChunkCache c = new ChunkCache(8);
    char[] text = "abcdefgh".toCharArray();
    for (int i = 0; i < 8; i++) c.put(text, i, i + 1, ChunkCache.hash(text, i, i + 1), i % 2 == 0 ? new int[] {i} : new int[] {i, i});
    assertEquals(4, c.size());
    for (int i = 0; i < 8; i++) {
      ChunkCache.Tokens out = new ChunkCache.Tokens(1);
      boolean hit = c.appendTo(text, i, i + 1, ChunkCache.hash(text, i, i + 1), out);
      assertEquals(i < 4, hit, "chunk " + i);
      if (hit) assertArrayEquals(i % 2 == 0 ? new int[] {i} : new int[] {i, i}, out.toArray());
    }
  }

  /**
   * Keys short enough to live in their slot and keys kept in the pool, all under one hash so every
   * lookup has to compare chars: each key finds its own tokens, and a key one char away (in any
   * position, including chars 0 and U+FFFF that an int packing could confuse with padding) misses.
   */
  @Test
  void keysInTheSlotAndInThePoolAreComparedCharByChar() {
    ChunkCache c = new ChunkCache(256);
    Random rnd = new Random(7);
    int hash = 42;
    List<char[]> keys = new ArrayList<>();
    for (int len = 1; len <= ChunkCache.INLINE_CHARS * 2 + 1; len++) {
      char[] k = new char[len];
      for (int i = 0; i < len; i++) k[i] = switch (rnd.nextInt(4)) {
        case 0 -> (char) 0;
        case 1 -> (char) 0xFFFF;
        default -> (char) ('a' + rnd.nextInt(26));
      };
      keys.add(k);
      c.put(k, 0, len, hash, new int[] {len, -len});
    }
    for (char[] k : keys) {
      ChunkCache.Tokens out = new ChunkCache.Tokens(1);
      assertTrue(c.appendTo(k, 0, k.length, hash, out), "length " + k.length);
      assertArrayEquals(new int[] {k.length, -k.length}, out.toArray());
      for (int i = 0; i < k.length; i++) {
        char[] other = k.clone();
        other[i] = other[i] == 0 ? 'z' : (char) 0;
        assertFalse(c.appendTo(other, 0, other.length, hash, new ChunkCache.Tokens(1)), "length " + k.length + ", char " + i);
      }
    }
    // A key in the middle of a longer text is read from that range only.
    char[] text = ("xy" + new String(keys.get(4)) + "zw").toCharArray();
    ChunkCache.Tokens out = new ChunkCache.Tokens(1);
    assertTrue(c.appendTo(text, 2, 2 + keys.get(4).length, hash, out));
    assertArrayEquals(new int[] {5, -5}, out.toArray());
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = FastEncodingTest.class.getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
