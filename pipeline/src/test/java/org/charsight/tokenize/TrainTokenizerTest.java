package org.charsight.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.shards.Prepare;
import org.charsight.testing.PrepareRunner;
import org.charsight.testing.Shards;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainTokenizerRunner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainTokenizerTest {
  static SparkSession spark;
  static String loomings;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.get("local[2]");
    try (InputStream in = TrainTokenizerTest.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      loomings = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static Map<String, Object> train(SparkSession spark, List<String> inputs, Path out, String... overrides) {
    return TrainTokenizerRunner.train(spark, inputs, out, overrides);
  }

  static String expectUserError(List<String> inputs, Path out, String... overrides) {
    try {
      train(spark, inputs, out, overrides);
    } catch (Throwable t) {
      UserError u = UserError.findIn(t);
      if (u == null) throw new AssertionError("expected a UserError, got " + t, t);
      assertFalse(Files.exists(out), "no output after an error");
      PrepareRunner.assertNoTemporaries(out.getParent());
      return u.getMessage();
    }
    return fail("train-tokenizer should have failed");
  }

  @Test
  void trainedTokenizerDrivesPrepareAndDecodesBack(@TempDir Path dir) throws IOException {
    Path in = Files.writeString(Files.createDirectories(dir.resolve("in")).resolve("loomings.txt"), loomings);
    Path tok = dir.resolve("tok");
    train(spark, List.of(in.toString()), tok, "train_tokenizer.vocab_size=600", "train_tokenizer.min_chunk_count=1");
    JsonNode info = Manifest.json().readTree(tok.resolve(TrainedTokenizer.INFO_FILE).toFile());
    assertEquals(600, info.get("vocab_size").asInt());
    assertEquals(342, info.get("merges").asInt());
    assertTrue(info.get("name").asText().startsWith("bpe-600-"));
    assertTrue(info.get("bytes_per_token").asDouble() > 2.0, "342 merges at least halve the token count of English");
    assertEquals(600, Files.readAllLines(tok.resolve(TrainedTokenizer.RANKS_FILE)).size() + 2);

    Path out = dir.resolve("shards");
    PrepareRunner.prepare(spark, List.of(in.toString()), out, false, "prepare.tokenizer=" + tok,
        "corpus.text.document=paragraphs", "prepare.val_fraction=0.2", "prepare.context=32");
    Tokenizer t = TrainedTokenizer.load(tok.toString(), new Configuration());
    List<String> decoded = new ArrayList<>();
    for (String split : Prepare.SPLITS) {
      for (int[] d : Shards.documents(Shards.stream(Shards.windows(spark, out.toString(), split)), t.endOfText())) {
        for (int id : d) assertTrue(id < 598, "no special token inside a document");
        decoded.add(t.decode(d));
      }
    }
    List<String> expected = new ArrayList<>(PrepareRunner.paragraphs(loomings));
    Collections.sort(expected);
    Collections.sort(decoded);
    assertEquals(expected, decoded);
    JsonNode m = Manifest.read(out.toString(), new Configuration(), "prepare");
    assertEquals(600, m.at("/tokenizer/vocab_size").asInt());
    assertEquals(598, m.at("/tokenizer/end_of_text").asInt());
    // Later stages open the tokenizer from this record, perhaps from another working directory.
    assertEquals(tok.toUri().toString().replaceFirst("^file:///", "file:/").replaceFirst("/$", ""),
        m.at("/tokenizer/spec").asText());
  }

  @Test
  void sameInputAndConfGiveTheIdenticalFile(@TempDir Path dir) throws IOException {
    Path in = Files.writeString(Files.createDirectories(dir.resolve("in")).resolve("loomings.txt"), loomings);
    train(spark, List.of(in.toString()), dir.resolve("a"), "train_tokenizer.vocab_size=500");
    train(spark, List.of(in.toString()), dir.resolve("b"), "train_tokenizer.vocab_size=500");
    assertArrayEquals(Files.readAllBytes(dir.resolve("a/tokenizer.tiktoken")), Files.readAllBytes(dir.resolve("b/tokenizer.tiktoken")));
    assertArrayEquals(Files.readAllBytes(dir.resolve("a/tokenizer.json")), Files.readAllBytes(dir.resolve("b/tokenizer.json")));
  }

  @Test
  void vocabularyBelowBytesPlusSpecialsIsRejected(@TempDir Path dir) throws IOException {
    Path in = Files.writeString(dir.resolve("x.txt"), "text");
    String msg = expectUserError(List.of(in.toString()), dir.resolve("out"), "train_tokenizer.vocab_size=257");
    assertEquals("train-tokenizer: vocabulary size 257 (--vocab-size / train_tokenizer.vocab_size) must be at least 258"
        + " (256 byte tokens + 2 special tokens)", msg);
  }

  @Test
  void vocabularyBeyondWhatTheCorpusSupportsSaysHowManyMergesWerePossible(@TempDir Path dir) throws IOException {
    Path in = Files.writeString(dir.resolve("x.txt"), "the cat sat on the mat with the hat");
    String msg = expectUserError(List.of(in.toString()), dir.resolve("out"), "train_tokenizer.vocab_size=5000",
        "train_tokenizer.min_chunk_count=1");
    // chunks: the, " cat", " sat", " on", " the", " mat", " with", " hat": at most one merge per extra byte.
    assertTrue(msg.startsWith("train-tokenizer: vocabulary size 5000 needs 4742 merges but this corpus supports only "), msg);
    int possible = Integer.parseInt(msg.replaceAll(".*supports only (\\d+).*", "$1"));
    assertTrue(possible > 5 && possible < 30, msg);
    assertTrue(msg.contains("use --vocab-size " + (256 + possible + 2) + " or less"), msg);
  }

  @Test
  void missingInputAndBadPatternAreRejected(@TempDir Path dir) {
    assertEquals("train-tokenizer: input path does not exist: " + dir.resolve("none"),
        expectUserError(List.of(dir.resolve("none").toString()), dir.resolve("out")));
    String msg = expectUserError(List.of(dir.toString()), dir.resolve("out"), "train_tokenizer.pattern=(unclosed");
    assertTrue(msg.startsWith("train_tokenizer.pattern: not gpt2, gpt4 or a valid regex"), msg);
  }
}
