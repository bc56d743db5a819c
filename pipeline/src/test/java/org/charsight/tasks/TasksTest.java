package org.charsight.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.shards.ShardSet;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.charsight.tokenize.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TasksTest {

  static void tasks(SparkSession spark, Path shards, Path out, String words, String... overrides) {
    CharsightConfig c = CharsightConfig.load(null, List.of(overrides));
    Tasks.run(spark, Tasks.Options.from(c, shards.toString(), out.toString(), false, words));
  }

  @Test
  void corpusWordsGiveEveryTaskAndSplitWithHeldOutWordsNeverTrainedOn(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = TrainingFixtures.shards(spark, dir);
    tasks(spark, shards, dir.resolve("tasks"), null, "tasks.min_word_frequency=2", "tasks.max_words=40",
        "tasks.examples_per_word=2", "tasks.held_out_fraction=0.3");
    List<Row> rows = spark.read().parquet(dir.resolve("tasks/examples").toString()).collectAsList();
    Set<String> trainWords = new HashSet<>();
    Set<String> heldOut = new HashSet<>();
    Set<String> nonce = new HashSet<>();
    Set<String> pseudo = new HashSet<>();
    int spaceCountDiffers = 0;
    Tokenizer tok = ShardSet.open(spark, shards.toString()).tokenizer().open();
    for (Row r : rows) {
      String split = r.getAs("split");
      String word = r.getAs("word");
      switch (split) {
        case "train" -> {
          trainWords.add(word);
          assertTrue((Boolean) r.getAs("phrasing_seen"), "training rows use training phrasings only");
        }
        case "val_heldout" -> heldOut.add(word);
        case "val_nonce" -> nonce.add(word);
        case "val_pseudoword" -> pseudo.add(word);
        case "val_train_words" -> { }
        default -> throw new AssertionError(split);
      }
      // tokens = question, then the answer from answer_start, then end-of-text
      List<Integer> ids = r.getList(r.fieldIndex("tokens"));
      int[] t = ids.stream().mapToInt(Integer::intValue).toArray();
      int start = r.getAs("answer_start");
      assertEquals("Question: " + r.getAs("prompt") + "\nAnswer:", tok.decode(Arrays.copyOfRange(t, 0, start)));
      assertEquals(" " + r.getAs("answer"), tok.decode(Arrays.copyOfRange(t, start, t.length - 1)));
      assertEquals(tok.endOfText(), t[t.length - 1]);
      // word_tokens: the tokens of the word as this row's text holds it. The prompt quotes the word,
      // and the pre-tokenizer cuts quotes off, so the word is encoded alone, with no leading space;
      // spell_inverse spells it out in the prompt and has it, after a space, as the answer (a token
      // that is the space alone is not one of the word's).
      int[] spaced = tok.encode(" " + word);
      int expected = !"spell_inverse".equals(r.getAs("task")) ? tok.encode(word).length
          : spaced.length - (tok.decode(new int[] {spaced[0]}).equals(" ") ? 1 : 0);
      assertEquals(expected, (int) r.getAs("word_tokens"), r.toString());
      if (expected != tok.encode(" " + word).length) spaceCountDiffers++;
      // letters = the quoted single letters of the question, in order (x, then y)
      StringBuilder quoted = new StringBuilder();
      var m = java.util.regex.Pattern.compile("\"([a-z])\"").matcher((String) r.getAs("prompt"));
      while (m.find()) quoted.append(m.group(1));
      String letters = r.getAs("letters");
      assertEquals(letters.length(), quoted.length(), r.toString());
      for (char ch : letters.toCharArray()) assertTrue(quoted.indexOf(String.valueOf(ch)) >= 0, r.toString());
    }
    // Training contains_char: "yes" and "no" equally often for every letter, so that the letter
    // alone does not tell the answer.
    Map<String, int[]> answers = new HashMap<>();
    for (Row r : rows) {
      if (!"contains_char".equals(r.getAs("task")) || !"train".equals(r.getAs("split"))) continue;
      answers.computeIfAbsent(r.getAs("split") + " " + r.getAs("letters"), k -> new int[2])["yes".equals(r.getAs("answer")) ? 0 : 1]++;
    }
    assertFalse(answers.isEmpty());
    answers.forEach((k, v) -> assertEquals(v[0], v[1], "yes/no for " + k));
    assertTrue(spaceCountDiffers > 0, "counting \" \" + word (what the model does not read) would change some rows");
    assertFalse(trainWords.isEmpty() || heldOut.isEmpty() || nonce.isEmpty() || pseudo.isEmpty());
    for (String w : heldOut) assertFalse(trainWords.contains(w), "held-out word in training rows: " + w);
    Set<String> corpusWords = new HashSet<>(trainWords);
    corpusWords.addAll(heldOut);
    for (String n : nonce) {
      assertFalse(corpusWords.contains(n), n);
      assertTrue(n.matches("[bcdfghjklmnpqrstvwxz]+"), n);
    }
    for (String n : pseudo) {
      assertFalse(corpusWords.contains(n), n);
      assertTrue(n.matches("[a-z]+"), n);
    }
    JsonNode m = Manifest.read(dir.resolve("tasks").toString(), new Configuration(), "tasks");
    for (CharTask t : CharTask.values()) {
      for (String split : new String[] {"train", "val_train_words", "val_heldout", "val_nonce", "val_pseudoword"}) {
        assertTrue(m.at("/counts/" + t.confName + "/" + split).asLong() > 0, t.confName + " " + split);
      }
    }
    assertTrue(m.at("/contains_char_dropped_to_balance_letters").asLong() > 0, "contains_char drawn per word is unbalanced");
    // The manifest describes each split of words; training and held-out ones come from one pool.
    assertEquals(trainWords.size(), m.at("/words/train/words").asInt());
    assertEquals(heldOut.size(), m.at("/words/held_out/words").asInt());
    assertEquals(pseudo.size(), m.at("/words/pseudoword/words").asInt());
    for (String split : new String[] {"train", "held_out"}) {
      assertTrue(m.at("/words/" + split + "/frequency/median").asDouble() >= 2, split);
      assertTrue(m.at("/words/" + split + "/tokens_per_word/median").asDouble() >= 1, split);
    }
    assertTrue(m.at("/tokens_per_word/val_nonce").asDouble() > m.at("/tokens_per_word/val_train_words").asDouble(),
        "nonce strings break into more tokens than frequent words");
  }

  @Test
  void cuteFilesBecomeEvaluationRows(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = TrainingFixtures.shards(spark, dir);
    Path spell = Files.writeString(dir.resolve("spell.tsv"), "input1\tlabel\nthe\tt h e\nand\ta n d\n");
    Path del = Files.writeString(dir.resolve("del_char_rand.tsv"), "input1\tinput2\tlabel\nb\tbdj\tdj\n");
    Path words = Files.writeString(dir.resolve("words.txt"), "apple\nbanana\ncherry\ndragon\neagle\nfalcon\n");
    CharsightConfig c = CharsightConfig.load(null, List.of("tasks.families=[spell]", "tasks.held_out_fraction=0.4"));
    Tasks.run(spark, Tasks.Options.from(c, shards.toString(), dir.resolve("t").toString(), false, words.toString(),
        List.of(spell.toString(), del.toString())));
    List<Row> cute = spark.read().parquet(dir.resolve("t/examples").toString()).where("split like 'cute%'")
        .orderBy("split", "word").collectAsList();
    assertEquals(3, cute.size());
    assertEquals("a n d", cute.get(0).getAs("answer"));
    assertEquals("cute_nonce", cute.get(2).getAs("split"));
    assertEquals("dj", cute.get(2).getAs("answer"));
    JsonNode m = Manifest.read(dir.resolve("t").toString(), new Configuration(), "tasks");
    assertEquals(2, m.at("/cute/" + spell.toString().replace("/", "~1") + "/items").asInt());
  }

  @Test
  void wordListFileIsAnAlternativeSourceAndAMissingOneIsRejected(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    Path shards = TrainingFixtures.shards(spark, dir);
    StringBuilder words = new StringBuilder();
    for (String w : "apple banana cherry dragon eagle falcon garden harbor island jungle kettle lemon mango nectar ocean"
        .split(" ")) words.append(w).append('\n');
    words.append("Not-A-Word\nab\n");
    Path list = Files.writeString(dir.resolve("words.txt"), words.toString());
    tasks(spark, shards, dir.resolve("t"), list.toString(), "tasks.held_out_fraction=0.4", "tasks.families=[spell]");
    Set<String> seen = new HashSet<>();
    for (Row r : spark.read().parquet(dir.resolve("t/examples").toString()).collectAsList()) {
      if (!List.of("val_nonce", "val_pseudoword").contains((String) r.getAs("split"))) seen.add(r.getAs("word"));
      assertEquals("spell", r.getAs("task"));
    }
    assertEquals(15, seen.size(), "the 15 valid words; 'ab' is too short and 'Not-A-Word' is not [a-z]+: " + seen);
    try {
      tasks(spark, shards, dir.resolve("t2"), dir.resolve("nope.txt").toString());
      throw new AssertionError("should fail");
    } catch (UserError e) {
      assertEquals("tasks: --words file does not exist: " + dir.resolve("nope.txt"), e.getMessage());
    }
    assertFalse(Files.exists(dir.resolve("t2")));
  }
}
