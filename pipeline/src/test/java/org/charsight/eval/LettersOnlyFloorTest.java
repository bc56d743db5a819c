package org.charsight.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.charsight.tasks.Tasks;
import org.charsight.testing.SparkTestSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The letters-only floor and which questions training asked, on hand-made examples, against answers worked out by hand. */
class LettersOnlyFloorTest {

  @Test
  void answersEachQuestionWithTheCommonestTrainingAnswerForItsLetters(@TempDir Path dir) {
    SparkSession spark = SparkTestSession.get("local[2]");
    List<Row> rows = new ArrayList<>();
    // training: "q" -> no (2 of 3), "e" -> yes (3 of 3); overall yes 4 of 6
    add(rows, "train", "q", "no", "no", "yes");
    add(rows, "train", "e", "yes", "yes", "yes");
    // held-out: q no (right), q yes (wrong), e yes (right), e no (wrong), z never trained -> overall "yes" (right)
    add(rows, "val_heldout", "q", "no", "yes");
    add(rows, "val_heldout", "e", "yes", "no");
    add(rows, "val_heldout", "z", "yes");
    // nonce: q no, q no, z no (overall "yes": wrong)
    add(rows, "val_nonce", "q", "no", "no");
    add(rows, "val_nonce", "z", "no");
    String examples = dir.resolve("examples").toString();
    spark.createDataFrame(rows, Tasks.SCHEMA).write().partitionBy("split").parquet(examples);

    var all = spark.read().parquet(examples).withColumn("run", functions.lit("seed-1"));
    Map<String, Double> floor = Evaluate.lettersOnlyFloor(all.where("split = 'train'"), Evaluate.evaluationRows(all, 100));
    assertEquals(3.0 / 5, floor.get("contains_char,val_heldout"), 1e-9);
    assertEquals(2.0 / 3, floor.get("contains_char,val_nonce"), 1e-9);
    assertEquals(2, floor.size(), floor.toString());
  }

  @Test
  void aQuestionIsTrainedWhenTrainingAskedItOfTheSameWordInAnyPhrasing(@TempDir Path dir) {
    SparkSession spark = SparkTestSession.get("local[2]");
    List<Row> rows = new ArrayList<>();
    rows.add(question("contains_char", "train", "cat", 0, "a", "yes"));
    rows.add(question("contains_char", "train", "cat", 1, "z", "no"));
    rows.add(question("spell", "train", "cat", 0, "", "c a t"));
    rows.add(question("contains_char", "val_train_words", "cat", 4, "a", "yes")); // asked, in another phrasing
    rows.add(question("contains_char", "val_train_words", "cat", 0, "b", "no")); // a new letter for a known word
    rows.add(question("contains_char", "val_heldout", "dog", 0, "z", "no")); // the letter was asked of another word
    rows.add(question("spell", "val_train_words", "cat", 2, "", "c a t"));
    rows.add(question("spell", "val_heldout", "dog", 0, "", "d o g"));
    String examples = dir.resolve("examples").toString();
    spark.createDataFrame(rows, Tasks.SCHEMA).write().partitionBy("split").parquet(examples);

    var all = spark.read().parquet(examples).withColumn("run", functions.lit("seed-1"));
    var asked = Evaluate.evaluationRows(all, 100);
    Map<String, Boolean> trained = Evaluate.questionTrained(all.where("split = 'train'"), asked);
    Map<String, Boolean> byWordAndLetters = new java.util.TreeMap<>();
    for (Row r : asked.selectExpr("task", "split", "example", "word", "letters").collectAsList()) {
      byWordAndLetters.put(r.getString(0) + "," + r.getString(3) + "," + r.getString(4),
          trained.get("seed-1," + r.getString(0) + "," + r.getString(1) + "," + r.getInt(2)));
    }
    assertEquals(Map.of("contains_char,cat,a", true, "contains_char,cat,b", false, "contains_char,dog,z", false,
        "spell,cat,", true, "spell,dog,", false), byWordAndLetters);
  }

  @Test
  void eachRunIsJudgedByItsOwnTrainingAnswers(@TempDir Path dir) {
    SparkSession spark = SparkTestSession.get("local[2]");
    // Run 1 trained "q" -> no, run 2 "q" -> yes (different word splits, different training rows).
    List<Row> one = new ArrayList<>();
    add(one, "train", "q", "no", "no");
    add(one, "val_heldout", "q", "no");
    List<Row> two = new ArrayList<>();
    add(two, "train", "q", "yes", "yes");
    add(two, "val_heldout", "q", "no");
    String a = dir.resolve("a").toString();
    String b = dir.resolve("b").toString();
    spark.createDataFrame(one, Tasks.SCHEMA).write().partitionBy("split").parquet(a);
    spark.createDataFrame(two, Tasks.SCHEMA).write().partitionBy("split").parquet(b);
    var all = spark.read().parquet(a).withColumn("run", functions.lit("seed-1"))
        .unionByName(spark.read().parquet(b).withColumn("run", functions.lit("seed-2")));
    Map<String, Double> floor = Evaluate.lettersOnlyFloor(all.where("split = 'train'"), Evaluate.evaluationRows(all, 100));
    // Right in run 1 (guess no), wrong in run 2 (guess yes): pooled 1 of 2.
    assertEquals(Map.of("contains_char,val_heldout", 0.5), floor);
  }

  private static Row question(String task, String split, String word, int phrasing, String letters, String answer) {
    return RowFactory.create(task, split, word, phrasing, phrasing < 4, "Q " + phrasing + " " + word + " " + letters, answer,
        new int[] {1, 2, 3}, 2, 1, letters);
  }

  private static void add(List<Row> rows, String split, String letter, String... answers) {
    for (String a : answers) {
      String word = "w" + rows.size();
      rows.add(RowFactory.create("contains_char", split, word, 0, true, "Does \"" + word + "\" contain \"" + letter + "\"?", a,
          new int[] {1, 2, 3}, 2, 1, letter));
    }
  }
}
