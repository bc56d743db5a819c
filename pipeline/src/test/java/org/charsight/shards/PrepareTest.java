package org.charsight.shards;

import static org.charsight.testing.PrepareRunner.expectUserError;
import static org.charsight.testing.PrepareRunner.prepare;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.testing.PrepareRunner;
import org.charsight.testing.Shards;
import org.charsight.testing.SparkTestSession;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareTest {
  static SparkSession spark;
  static String loomings;

  @BeforeAll
  static void start() throws IOException {
    spark = SparkTestSession.get("local[2]");
    try (InputStream in = PrepareTest.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      loomings = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static Path write(Path p, String content) throws IOException {
    Files.createDirectories(p.getParent());
    return Files.writeString(p, content, StandardCharsets.UTF_8);
  }

  /** Every document of both splits, decoded from the shards. */
  static List<String> decodedDocuments(String out, Tokenizer tok) {
    List<String> docs = new ArrayList<>();
    for (String split : Prepare.SPLITS) {
      for (int[] d : Shards.documents(Shards.stream(Shards.windows(spark, out, split)), tok.endOfText())) {
        docs.add(tok.decode(d));
      }
    }
    Collections.sort(docs);
    return docs;
  }

  static JsonNode manifest(Path out) {
    return Manifest.read(out.toString(), new Configuration(), "prepare");
  }

  @Test
  void shardsDecodeBackToTheNormalisedParagraphs(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/loomings.txt"), loomings.replace("\n", "\r\n"));
    Path out = dir.resolve("out");
    prepare(spark, List.of(in.toString()), out, false, "corpus.text.document=paragraphs", "prepare.context=16",
        "prepare.val_fraction=0.2", "corpus.partition_bytes=65536");
    List<String> expected = new ArrayList<>(PrepareRunner.paragraphs(loomings));
    Collections.sort(expected);
    assertEquals(expected, decodedDocuments(out.toString(), new Tokenizers.Spec("gpt2").open()));

    JsonNode m = manifest(out);
    assertEquals(expected.size(), m.at("/counts/total/documents").asLong());
    assertTrue(m.at("/counts/val/documents").asLong() > 0, "a 20% validation share of 37 paragraphs is not empty");
    for (String split : Prepare.SPLITS) {
      // Written by Parquet's own writer, read back by Spark as the documented schema (Spark makes
      // every column it reads from files nullable).
      assertEquals(Prepare.WINDOW_SCHEMA.asNullable(), spark.read().parquet(out.resolve(split).toString()).schema());
      List<Shards.WindowRow> w = Shards.windows(spark, out.toString(), split);
      assertEquals(m.at("/counts/" + split + "/windows").asLong(), w.size());
      assertEquals(m.at("/counts/" + split + "/tokens").asLong(), Shards.stream(w).length);
      for (int i = 0; i < w.size(); i++) {
        assertEquals(i, w.get(i).window());
        if (i < w.size() - 1) assertEquals(17, w.get(i).tokens().length);
      }
    }
    assertTrue(m.at("/bytes_per_token").asDouble() > 3.5, "GPT-2 on English prose: ~4-5 bytes per token");
    assertEquals("gpt2", m.at("/tokenizer/name").asText());
    assertEquals("3.5.9", m.at("/versions/spark").asText());
  }

  @Test
  void readsTextJsonlParquetGzipAndDirectoriesInOneRun(@TempDir Path dir) throws IOException {
    Path in = dir.resolve("in");
    write(in.resolve("a.txt"), "Alpha text.\nSecond line.\n");
    write(in.resolve("nested/deeper/d.text"), "Delta.");
    write(in.resolve("_SUCCESS"), "");
    write(in.resolve(".hidden.txt"), "never read");
    try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(in.resolve("b.jsonl.gz")))) {
      gz.write(("{\"text\": \"Beta one\", \"n\": 1}\n\n{\"text\": \"Beta \\u00e9 two\"}\n{\"text\":\"Beta three\"}\n")
          .getBytes(StandardCharsets.UTF_8));
    }
    StructType schema = new StructType().add("text", DataTypes.StringType).add("k", DataTypes.IntegerType);
    spark.createDataFrame(List.of(RowFactory.create("Gamma one", 1), RowFactory.create("Gamma two", 2)), schema)
        .coalesce(1).write().parquet(in.resolve("c.parquet").toString());
    Path out = dir.resolve("out");
    prepare(spark, List.of(in.toString()), out, false, "prepare.tokenizer=bytes", "prepare.context=8",
        "prepare.val_fraction=0.3");
    List<String> expected = new ArrayList<>(List.of("Alpha text.\nSecond line.", "Delta.", "Beta one", "Beta é two",
        "Beta three", "Gamma one", "Gamma two"));
    Collections.sort(expected);
    assertEquals(expected, decodedDocuments(out.toString(), new Tokenizers.Spec("bytes").open()));
    assertEquals(4, manifest(out).at("/file_count").asInt(), "a, d, b and c's one part file; hidden files skipped");
  }

  @Test
  void largeJsonlIsReadInByteRangeSplitsWithEveryLineExactlyOnce(@TempDir Path dir) throws IOException {
    StringBuilder sb = new StringBuilder();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 12000; i++) {
      String text = "Document " + i + " " + "x".repeat(200 + i % 97);
      expected.add(text);
      sb.append("{\"text\": \"").append(text).append("\"}\n");
    }
    Path f = write(dir.resolve("in/big.jsonl"), sb.toString());
    assertTrue(Files.size(f) > 2 * 1048576, "more than two 1 MiB splits");
    Path out = dir.resolve("out");
    prepare(spark, List.of(f.toString()), out, false, "prepare.tokenizer=bytes", "corpus.split_bytes=1048576",
        "prepare.val_fraction=0.1", "prepare.context=256");
    Collections.sort(expected);
    assertEquals(expected, decodedDocuments(out.toString(), new Tokenizers.Spec("bytes").open()));
  }

  @Test
  void globsSelectMatchingFiles(@TempDir Path dir) throws IOException {
    write(dir.resolve("in/one.txt"), "One.");
    write(dir.resolve("in/two.txt"), "Two.");
    write(dir.resolve("in/skip.md"), "Skip.");
    Path out = dir.resolve("out");
    prepare(spark, List.of(dir.resolve("in").toString() + "/*.txt"), out, false, "prepare.tokenizer=bytes",
        "prepare.val_fraction=0.01");
    assertEquals(List.of("One.", "Two."), decodedDocuments(out.toString(), new Tokenizers.Spec("bytes").open()));
  }

  @Test
  void sameInputAndConfGiveIdenticalShards(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/loomings.txt"), loomings);
    List<String> conf = List.of("corpus.text.document=paragraphs", "prepare.context=32", "prepare.val_fraction=0.1",
        "corpus.partition_bytes=65536", "prepare.shard_target_bytes=2048");
    prepare(spark, List.of(in.toString()), dir.resolve("a"), false, conf.toArray(String[]::new));
    prepare(spark, List.of(in.toString()), dir.resolve("b"), false, conf.toArray(String[]::new));
    for (String split : Prepare.SPLITS) {
      List<Shards.WindowRow> a = Shards.windows(spark, dir.resolve("a").toString(), split);
      List<Shards.WindowRow> b = Shards.windows(spark, dir.resolve("b").toString(), split);
      assertEquals(a.size(), b.size());
      for (int i = 0; i < a.size(); i++) {
        assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
        assertEquals(a.get(i).docFirst(), b.get(i).docFirst());
      }
    }
    // Shards are sized by conf: ~24 KB of text is ~5k GPT-2 tokens, ~21 KB as int32, so a 2 KB
    // target gives about ten shards, named in stream order.
    String[] names = shardNames(dir.resolve("a/train"));
    assertTrue(names.length >= 5 && names.length <= 20, "shards: " + names.length);
    for (int i = 0; i < names.length; i++) assertEquals(String.format("part-%05d.parquet", i), names[i]);
    assertEquals(names.length, manifest(dir.resolve("a")).at("/counts/train/shards").asInt());
    assertArrayEquals(names, shardNames(dir.resolve("b/train")));
  }

  @Test
  void movingTheCorpusKeepsSplitAndOrder(@TempDir Path dir) throws IOException {
    for (String where : new String[] {"here/corpus", "elsewhere/deeper/corpus"}) {
      write(dir.resolve(where + "/a/loomings.txt"), loomings);
      write(dir.resolve(where + "/b.txt"), "A second document.");
    }
    String[] conf = {"corpus.text.document=paragraphs", "prepare.val_fraction=0.3", "prepare.context=16"};
    prepare(spark, List.of(dir.resolve("here/corpus").toString()), dir.resolve("one"), false, conf);
    prepare(spark, List.of(dir.resolve("elsewhere/deeper/corpus").toString()), dir.resolve("two"), false, conf);
    for (String split : Prepare.SPLITS) {
      assertArrayEquals(Shards.stream(Shards.windows(spark, dir.resolve("one").toString(), split)),
          Shards.stream(Shards.windows(spark, dir.resolve("two").toString(), split)), split);
    }
  }

  static String[] shardNames(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".parquet")).sorted().toArray(String[]::new);
    }
  }

  @Test
  void vocabParquetHoldsEveryTokensBytes(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/x.txt"), "Some text for a vocabulary check.");
    Path out = dir.resolve("out");
    prepare(spark, List.of(in.toString()), out, false, "prepare.val_fraction=0.01");
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    var vocab = spark.read().parquet(out.resolve("vocab.parquet").toString());
    assertEquals(VocabTable.SCHEMA.asNullable(), vocab.schema());
    List<Row> rows = vocab.orderBy("token_id").collectAsList();
    assertEquals(50257, rows.size());
    for (int id : new int[] {0, 15496, 995, 31373, 50255}) {
      Row r = rows.get(id);
      assertEquals(id, r.getInt(r.fieldIndex("token_id")));
      assertArrayEquals(tok.tokenBytes(id), (byte[]) r.get(r.fieldIndex("bytes")));
      List<Integer> ids = r.getList(r.fieldIndex("byte_ids"));
      assertEquals(tok.tokenBytes(id).length, ids.size());
      assertEquals(tok.tokenBytes(id).length, r.getInt(r.fieldIndex("byte_length")));
    }
    assertEquals(" world", rows.get(995).getString(rows.get(995).fieldIndex("text")));
    assertTrue(rows.get(50256).getBoolean(rows.get(50256).fieldIndex("special")));
    int partial = 0;
    for (Row r : rows) {
      String expected = r.getBoolean(5) ? tok.specialText(r.getInt(0)) : org.charsight.corpus.Utf8.strict((byte[]) r.get(1));
      assertEquals(expected, r.getString(2), "text of token " + r.getInt(0));
      if (expected == null) partial++;
    }
    assertTrue(partial > 100, "tokens holding part of a character have no text: " + partial);
  }

  @Test
  void fewInvalidUtf8SequencesAreReplacedAndCounted(@TempDir Path dir) throws IOException {
    byte[] good = loomings.getBytes(StandardCharsets.UTF_8);
    byte[] bad = Arrays.copyOf(good, good.length + 3);
    bad[good.length] = ' ';
    bad[good.length + 1] = (byte) 0xff;
    bad[good.length + 2] = '\n';
    Files.createDirectories(dir.resolve("in"));
    Files.write(dir.resolve("in/x.txt"), bad);
    Path out = dir.resolve("out");
    prepare(spark, List.of(dir.resolve("in").toString()), out, false, "prepare.val_fraction=0.01");
    assertEquals(1, manifest(out).at("/counts/total/invalid_utf8").asLong());
  }

  @Test
  void overwriteReplacesAnExistingOutput(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/x.txt"), "First.");
    Path out = dir.resolve("out");
    prepare(spark, List.of(in.toString()), out, false, "prepare.tokenizer=bytes", "prepare.val_fraction=0.01");
    write(in, "Second, longer text.");
    String msg = expectUserError(spark, List.of(in.toString()), out, "prepare.tokenizer=bytes");
    assertTrue(msg.contains("output already exists: " + out) && msg.contains("--overwrite"), msg);
    assertEquals(List.of("First."), decodedDocuments(out.toString(), new Tokenizers.Spec("bytes").open()));
    prepare(spark, List.of(in.toString()), out, true, "prepare.tokenizer=bytes", "prepare.val_fraction=0.01");
    assertEquals(List.of("Second, longer text."), decodedDocuments(out.toString(), new Tokenizers.Spec("bytes").open()));
    PrepareRunner.assertNoTemporaries(dir);
  }

  // ---- bad input: one-line error naming the path or key, no output left behind ----

  @Test
  void missingPathIsRejected(@TempDir Path dir) {
    String msg = expectUserError(spark, List.of(dir.resolve("nope").toString()), dir.resolve("out"));
    assertEquals("prepare: input path does not exist: " + dir.resolve("nope"), msg);
  }

  @Test
  void emptyCorpusIsRejected(@TempDir Path dir) throws IOException {
    write(dir.resolve("in/empty.txt"), "");
    String msg = expectUserError(spark, List.of(dir.resolve("in").toString()), dir.resolve("out"));
    assertTrue(msg.startsWith("prepare: the corpus is empty"), msg);
    write(dir.resolve("in2/blank.txt"), " \n\t\n");
    msg = expectUserError(spark, List.of(dir.resolve("in2").toString()), dir.resolve("out"));
    assertTrue(msg.startsWith("prepare: the corpus is empty: no text in"), msg);
  }

  @Test
  void binaryFileIsRejected(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("in"));
    Path bin = dir.resolve("in/image.txt");
    Files.write(bin, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0, 13, 'I', 'H', 'D', 'R'});
    String msg = expectUserError(spark, List.of(bin.toString()), dir.resolve("out"));
    assertTrue(msg.contains(bin.getFileName().toString()) && msg.contains("NUL byte") && msg.contains("binary"), msg);
  }

  @Test
  void invalidUtf8FileIsRejected(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("in"));
    Path latin1 = dir.resolve("in/latin1.txt");
    Files.write(latin1, "Café crème, déjà vu, naïve façade.\n".repeat(20).getBytes(StandardCharsets.ISO_8859_1));
    String msg = expectUserError(spark, List.of(latin1.toString()), dir.resolve("out"));
    assertTrue(msg.contains("latin1.txt is not valid UTF-8") && msg.contains("corpus.max_invalid_utf8_fraction"), msg);
  }

  @Test
  void tenMegabyteLineIsRejected(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("in"));
    Path big = dir.resolve("in/oneline.txt");
    byte[] b = new byte[10 * 1024 * 1024];
    Arrays.fill(b, (byte) 'a');
    Files.write(big, b);
    String msg = expectUserError(spark, List.of(big.toString()), dir.resolve("out"));
    assertTrue(msg.contains("oneline.txt line 1 is longer than corpus.max_line_bytes=1048576"), msg);
  }

  @Test
  void unknownFormatIsRejected(@TempDir Path dir) throws IOException {
    Path f = write(dir.resolve("in/data.xyz"), "text");
    String msg = expectUserError(spark, List.of(f.toString()), dir.resolve("out"));
    assertTrue(msg.contains("cannot tell the format of") && msg.contains("data.xyz") && msg.contains("corpus.format"), msg);
    msg = expectUserError(spark, List.of(f.toString()), dir.resolve("out"), "corpus.format=xml");
    assertEquals("corpus.format: expected one of auto, text, jsonl, parquet, got 'xml'", msg);
  }

  @Test
  void badJsonlNamesFileLineAndField(@TempDir Path dir) throws IOException {
    Path f = write(dir.resolve("in/a.jsonl"), "{\"text\": \"ok\"}\n{\"body\": \"no text field\"}\n");
    String msg = expectUserError(spark, List.of(f.toString()), dir.resolve("out"));
    assertTrue(msg.contains("a.jsonl line 2: field 'text' (corpus.jsonl.text_field) is missing"), msg);
    Path g = write(dir.resolve("in2/b.jsonl"), "{\"text\": \"ok\"}\n{not json\n");
    msg = expectUserError(spark, List.of(g.toString()), dir.resolve("out"));
    assertTrue(msg.contains("b.jsonl line 2: invalid JSON"), msg);
  }

  @Test
  void parquetWithoutTheTextColumnIsRejected(@TempDir Path dir) {
    StructType schema = new StructType().add("body", DataTypes.StringType);
    String p = dir.resolve("in/x.parquet").toString();
    spark.createDataFrame(List.of(RowFactory.create("x")), schema).write().parquet(p);
    String msg = expectUserError(spark, List.of(p), dir.resolve("out"));
    assertTrue(msg.contains("has no column 'text' (corpus.parquet.text_column); columns: body"), msg);
  }

  @Test
  void unknownTokenizerIsRejected(@TempDir Path dir) throws IOException {
    Path f = write(dir.resolve("in/x.txt"), "text");
    String msg = expectUserError(spark, List.of(f.toString()), dir.resolve("out"), "prepare.tokenizer=gpt5");
    assertTrue(msg.startsWith("prepare.tokenizer: unknown tokenizer 'gpt5'"), msg);
  }

  @Test
  void contextBelowTwoIsRejected(@TempDir Path dir) throws IOException {
    Path f = write(dir.resolve("in/x.txt"), "text");
    assertEquals("prepare.context: expected an integer >= 2, got 1",
        expectUserError(spark, List.of(f.toString()), dir.resolve("out"), "prepare.context=1"));
  }

  @Test
  void valFractionOutsideZeroOneIsRejected(@TempDir Path dir) throws IOException {
    Path f = write(dir.resolve("in/x.txt"), "text");
    for (String v : new String[] {"0", "1", "-0.1", "1.5"}) {
      String msg = expectUserError(spark, List.of(f.toString()), dir.resolve("out"), "prepare.val_fraction=" + v);
      assertTrue(msg.startsWith("prepare.val_fraction: expected a number in (0, 1)"), msg);
    }
  }

  // ---- export ----

  @Test
  void nanoGptExportWritesTheTokenStreamAsUint16(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/loomings.txt"), loomings);
    Path out = dir.resolve("shards");
    prepare(spark, List.of(in.toString()), out, false, "corpus.text.document=paragraphs", "prepare.val_fraction=0.2",
        "prepare.context=64");
    NanoGptExport.run(spark, out.toString(), null, false);
    for (String split : Prepare.SPLITS) {
      int[] stream = Shards.stream(Shards.windows(spark, out.toString(), split));
      byte[] bin = Files.readAllBytes(out.resolve("nanogpt/" + split + ".bin"));
      assertEquals(stream.length * 2, bin.length);
      for (int i = 0; i < stream.length; i++) {
        assertEquals(stream[i], (bin[2 * i] & 0xff) | (bin[2 * i + 1] & 0xff) << 8, "token " + i);
      }
    }
  }

  @Test
  void nanoGptExportRefusesVocabulariesBeyondUint16(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/x.txt"), "Some text.");
    Path out = dir.resolve("shards");
    prepare(spark, List.of(in.toString()), out, false, "prepare.val_fraction=0.01");
    ObjectNode m = (ObjectNode) Manifest.json().readTree(out.resolve("manifest.json").toFile());
    ((ObjectNode) m.get("tokenizer")).put("vocab_size", 100277);
    Manifest.json().writeValue(out.resolve("manifest.json").toFile(), m);
    UserError e = org.junit.jupiter.api.Assertions.assertThrows(UserError.class,
        () -> NanoGptExport.run(spark, out.toString(), null, false));
    assertTrue(e.getMessage().contains("100277 tokens and does not fit in uint16"), e.getMessage());
    assertFalse(Files.exists(out.resolve("nanogpt")));
  }

  @Test
  void manifestRecordsInputsConfigAndHistogram(@TempDir Path dir) throws IOException {
    Path in = write(dir.resolve("in/x.txt"), loomings);
    Path out = dir.resolve("out");
    Map<String, Object> m = prepare(spark, List.of(in.toString()), out, false, "prepare.val_fraction=0.01");
    JsonNode j = manifest(out);
    assertEquals(in.toString(), j.at("/inputs/0").asText());
    long histTotal = 0;
    for (var it = j.get("bytes_per_token_histogram").fields(); it.hasNext(); ) histTotal += it.next().getValue().asLong();
    assertEquals(j.at("/counts/total/text_tokens").asLong(), histTotal);
    assertEquals(loomings.getBytes(StandardCharsets.UTF_8).length, j.at("/counts/total/source_bytes").asLong());
    assertTrue(m.containsKey("wall_seconds"));
  }
}
