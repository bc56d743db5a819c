package org.charsight.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.charsight.common.UserError;
import org.charsight.shards.VocabTable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TokenizersTest {

  /** Random text from all planes: ASCII, accents, CJK, emoji, combining marks; no lone surrogates. */
  static String randomUnicode(Random rnd, int codePoints) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < codePoints; i++) {
      int cp;
      switch (rnd.nextInt(6)) {
        case 0 -> cp = 0x20 + rnd.nextInt(0x5f);
        case 1 -> cp = 0xa0 + rnd.nextInt(0x250);
        case 2 -> cp = 0x4e00 + rnd.nextInt(0x5000);
        case 3 -> cp = 0x1f300 + rnd.nextInt(0x300);
        case 4 -> cp = 0x300 + rnd.nextInt(0x70);
        default -> {
          do cp = rnd.nextInt(0x110000); while (cp >= 0xd800 && cp <= 0xdfff);
        }
      }
      sb.appendCodePoint(cp);
      if (rnd.nextInt(8) == 0) sb.append(rnd.nextBoolean() ? ' ' : '\n');
    }
    return sb.toString();
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2", "bytes"})
  void encodeDecodeRoundTripsRandomUnicode(String name) {
    Tokenizer tok = new Tokenizers.Spec(name).open();
    Random rnd = new Random(42);
    for (int trial = 0; trial < 300; trial++) {
      String s = randomUnicode(rnd, 1 + rnd.nextInt(200));
      int[] ids = tok.encode(s);
      for (int id : ids) assertTrue(id >= 0 && id < tok.vocabSize() && !tok.isSpecial(id), "id " + id);
      assertEquals(s, tok.decode(ids), "trial " + trial);
    }
  }

  /**
   * Spark's task threads share one tokenizer per JVM. Decoding went through JTokkit's decodeBytes,
   * which fills a HashMap on first use of a token, and threads decoding at once broke it
   * (ConcurrentModificationException in the tasks stage). Decoding now reads the byte table.
   */
  @Test
  void manyThreadsDecodeAtOnceWithJtokkitsBytes() throws Exception {
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    Encoding jtokkit = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    byte[][] expected = new byte[tok.vocabSize()][]; // JTokkit's own decoding, on this thread alone
    for (int id = 0; id < expected.length; id++) {
      IntArrayList one = new IntArrayList(1);
      one.add(id);
      if (!tok.isSpecial(id)) expected[id] = jtokkit.decodeBytes(one);
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int offset = t;
        done.add(pool.submit(() -> {
          for (int id = offset; id < tok.vocabSize(); id += 8) {
            if (!tok.isSpecial(id)) assertArrayEquals(expected[id], tok.decodeBytes(new int[] {id}, 0, 1), "id " + id);
          }
          int[] text = tok.encode("Spell \"strawberry\" backwards.");
          assertEquals("Spell \"strawberry\" backwards.", tok.decode(text));
        }));
      }
      for (var f : done) f.get();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void specialTokenTextInTheCorpusIsOrdinaryText() {
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    int[] ids = tok.encode("a<|endoftext|>b");
    for (int id : ids) assertTrue(id != tok.endOfText());
    assertEquals("a<|endoftext|>b", tok.decode(ids));
  }

  @Test
  void gpt2GivesTheIdsOfGpt2sOwnVocabulary() {
    // "Hello" = 15496 and " world" = 995 in GPT-2's encoder.json.
    assertArrayEquals(new int[] {15496, 995}, new Tokenizers.Spec("gpt2").open().encode("Hello world"));
    assertEquals(50257, new Tokenizers.Spec("gpt2").open().vocabSize());
    assertEquals(50256, new Tokenizers.Spec("gpt2").open().endOfText());
  }

  @Test
  void gpt2VocabDecompositionEqualsJtokkitsBytesForEveryId() {
    Encoding r50k = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    List<Row> rows = VocabTable.rows(tok);
    assertEquals(tok.vocabSize(), rows.size());
    int validText = 0;
    for (int id = 0; id < rows.size(); id++) {
      Row r = rows.get(id);
      assertEquals(id, r.getInt(0));
      if (id == tok.endOfText()) {
        assertTrue(r.getBoolean(5));
        assertEquals(0, ((byte[]) r.get(1)).length);
        assertEquals("<|endoftext|>", r.getString(2));
        continue;
      }
      IntArrayList one = new IntArrayList();
      one.add(id);
      byte[] expected = r50k.decodeBytes(one);
      assertArrayEquals(expected, (byte[]) r.get(1), "id " + id);
      assertEquals(expected.length, r.getInt(3));
      int[] byteIds = (int[]) r.get(4);
      assertEquals(expected.length, byteIds.length);
      for (int i = 0; i < expected.length; i++) assertEquals(expected[i] & 0xff, byteIds[i]);
      if (r.getString(2) != null) {
        validText++;
        assertArrayEquals(expected, r.getString(2).getBytes(StandardCharsets.UTF_8));
      }
    }
    // Most GPT-2 tokens are whole characters; a few hundred are fragments of multi-byte ones.
    assertTrue(validText > 49_000, "tokens with valid UTF-8 text: " + validText);
  }

  @Test
  void byteVocabDecompositionIsTheByteItself() {
    Tokenizer tok = new Tokenizers.Spec("bytes").open();
    List<Row> rows = VocabTable.rows(tok);
    assertEquals(257, rows.size());
    for (int id = 0; id < 256; id++) {
      assertArrayEquals(new byte[] {(byte) id}, (byte[]) rows.get(id).get(1));
      assertEquals(id < 128 ? String.valueOf((char) id) : null, rows.get(id).getString(2));
    }
    assertTrue(rows.get(256).getBoolean(5));
    assertNull(tok.specialText(65));
  }

  @Test
  void unknownTokenizerIsAUserErrorNamingTheKey() {
    UserError e = assertThrows(UserError.class, () -> Tokenizers.parse("prepare.tokenizer", "gpt5"));
    assertTrue(e.getMessage().startsWith("prepare.tokenizer: unknown tokenizer 'gpt5'"), e.getMessage());
  }
}
