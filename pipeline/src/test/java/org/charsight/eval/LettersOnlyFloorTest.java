package org.charsight.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.charsight.tasks.Tasks;
import org.charsight.testing.SparkTestSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The letters-only floor on hand-made examples, against counts worked out by hand. */
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

    var all = spark.read().parquet(examples);
    Map<String, Double> floor = Evaluate.lettersOnlyFloor(all.where("split = 'train'"), Evaluate.evaluationRows(all, 100));
    assertEquals(3.0 / 5, floor.get("contains_char,val_heldout"), 1e-9);
    assertEquals(2.0 / 3, floor.get("contains_char,val_nonce"), 1e-9);
    assertEquals(2, floor.size(), floor.toString());
  }

  private static void add(List<Row> rows, String split, String letter, String... answers) {
    for (String a : answers) {
      String word = "w" + rows.size();
      rows.add(RowFactory.create("contains_char", split, word, 0, true, "Does \"" + word + "\" contain \"" + letter + "\"?", a,
          new int[] {1, 2, 3}, 2, 1, letter));
    }
  }
}
