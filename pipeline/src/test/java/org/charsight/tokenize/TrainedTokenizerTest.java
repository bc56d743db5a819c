package org.charsight.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import org.apache.hadoop.conf.Configuration;
import org.charsight.common.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainedTokenizerTest {
  static String text;
  static TrainedTokenizer.Files files;

  /** Trains 256 merges on the Moby-Dick excerpt, counting chunks the way the Spark job does. */
  @BeforeAll
  static void train() throws IOException {
    try (InputStream in = TrainedTokenizerTest.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Map<String, Long> counts = new HashMap<>();
    Matcher m = PreSplit.compile(PreSplit.GPT2).matcher(text);
    while (m.find()) counts.merge(m.group(), 1L, Long::sum);
    List<byte[]> chunks = new ArrayList<>();
    long[] c = new long[counts.size()];
    int i = 0;
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      chunks.add(e.getKey().getBytes(StandardCharsets.UTF_8));
      c[i++] = e.getValue();
    }
    BpeTrainer.Result r = BpeTrainer.train(chunks, c, 256, null);
    assertEquals(256, r.merges().size());
    files = TrainedTokenizer.Files.build(r.vocab(), "test-bpe", PreSplit.GPT2, Map.of());
  }

  @Test
  void roundTripsRandomUnicode() {
    TrainedTokenizer tok = TrainedTokenizer.of(files);
    Random rnd = new Random(9);
    for (int trial = 0; trial < 300; trial++) {
      String s = TokenizersTest.randomUnicode(rnd, 1 + rnd.nextInt(200));
      int[] ids = tok.encode(s);
      for (int id : ids) assertTrue(id >= 0 && id < tok.vocabSize() - 2, "ordinary id " + id);
      assertEquals(s, tok.decode(ids));
    }
  }

  @Test
  void a256MergeTokenizerEncodesItsTrainingTextInFewerTokensThanBytes() {
    TrainedTokenizer tok = TrainedTokenizer.of(files);
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    int tokens = tok.encode(text).length;
    assertTrue(tokens < bytes * 0.6, tokens + " tokens for " + bytes + " bytes");
    assertEquals(text, tok.decode(tok.encode(text)));
    assertEquals(256 + 256 + 2, tok.vocabSize());
    assertEquals(512, tok.endOfText());
    assertEquals("<|pad|>", tok.specialText(513));
  }

  @Test
  void tiktokenFileReReadGivesTheSameEncoder(@TempDir Path dir) throws IOException {
    Files.write(dir.resolve(TrainedTokenizer.RANKS_FILE), files.ranks());
    Files.write(dir.resolve(TrainedTokenizer.INFO_FILE), files.info());
    TrainedTokenizer fromDisk = TrainedTokenizer.load(dir.toString(), new Configuration());
    TrainedTokenizer inMemory = TrainedTokenizer.of(files);
    assertArrayEquals(inMemory.encode(text), fromDisk.encode(text));
    for (int id = 0; id < inMemory.vocabSize(); id++) assertArrayEquals(inMemory.tokenBytes(id), fromDisk.tokenBytes(id));
    // The file is plain tiktoken format: "<base64> <rank>" per line, ranks 0..n-1.
    List<String> lines = Files.readAllLines(dir.resolve(TrainedTokenizer.RANKS_FILE));
    assertEquals(512, lines.size());
    assertEquals("IA== 32", lines.get(32));
    for (int r = 0; r < lines.size(); r++) assertTrue(lines.get(r).endsWith(" " + r));
  }

  @Test
  void corruptRankFilesAreUserErrors(@TempDir Path dir) throws IOException {
    Files.write(dir.resolve(TrainedTokenizer.INFO_FILE), files.info());
    Files.writeString(dir.resolve(TrainedTokenizer.RANKS_FILE), "AA== 0\nnot-base64!! 1\n");
    UserError e = assertThrows(UserError.class, () -> TrainedTokenizer.load(dir.toString(), new Configuration()));
    assertTrue(e.getMessage().startsWith("tokenizer.tiktoken line 2: expected '<base64 bytes> <rank>'"), e.getMessage());
    Files.delete(dir.resolve(TrainedTokenizer.RANKS_FILE));
    e = assertThrows(UserError.class, () -> TrainedTokenizer.load(dir.toString(), new Configuration()));
    assertTrue(e.getMessage().endsWith("not a trained tokenizer (no tokenizer.tiktoken)"), e.getMessage());
  }
}
