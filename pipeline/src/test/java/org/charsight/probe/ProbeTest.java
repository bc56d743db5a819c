package org.charsight.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Linear spelling probes on hand-made embedding tables, where the answer is known, and the stage end to end. */
class ProbeTest {

  /** Random tokens of 1-6 letters; vectors of noise in which letter 'e' is (or is not) written linearly. */
  private record Table(List<String> letters, double[][] vectors) {}

  private static Table table(int n, int d, boolean encodeE, long seed) {
    Random rnd = new Random(seed);
    List<String> letters = new ArrayList<>();
    double[][] x = new double[n][d];
    for (int i = 0; i < n; i++) {
      StringBuilder sb = new StringBuilder();
      for (int k = 1 + rnd.nextInt(6); k > 0; k--) sb.append((char) ('a' + rnd.nextInt(26)));
      letters.add(sb.toString());
      for (int j = 0; j < d; j++) x[i][j] = rnd.nextGaussian();
      // 'e' along a direction spread over three coordinates, as a learned embedding might hold it.
      if (encodeE && sb.indexOf("e") >= 0) for (int j = 0; j < 3; j++) x[i][j] += 2.5;
    }
    return new Table(letters, x);
  }

  private static SpellingProbe.Score letterE(SparkSession spark, Table train, List<String> trainLetters, Table test) {
    // Only 'e' varies in what this test asks: every other letter is made absent from the labels.
    List<String> onlyE = trainLetters.stream().map(l -> l.indexOf('e') >= 0 ? "e" : "a").toList();
    List<String> testE = test.letters().stream().map(l -> l.indexOf('e') >= 0 ? "e" : "a").toList();
    AtomicInteger calls = new AtomicInteger();
    SpellingProbe.Score s = SpellingProbe.score(spark, "arm", SpellingProbe.INPUT, train.vectors(), onlyE, test.vectors(),
        testE, 0.01, 400, 3, calls::incrementAndGet).get(0);
    // 24 letters skipped (no training token varies in them), 2 fitted, 2 targets: progress counts all 28.
    assertEquals(SpellingProbe.PROBES_PER_VECTOR, calls.get(), "progress callbacks");
    return s;
  }

  @Test
  void aLetterWrittenLinearlyIsFound() {
    SparkSession spark = SparkTestSession.get("local[2]");
    Table train = table(600, 16, true, 1);
    Table test = table(300, 16, true, 2);
    SpellingProbe.Score s = letterE(spark, train, train.letters(), test);
    assertEquals("letter_present", s.target());
    assertEquals(2, s.probes(), "'a' and 'e' vary in the labels this test gives");
    // 'a' is not encoded (it stands for "no e" here, the complement): both probes read the same direction.
    assertTrue(s.accuracy() > 0.9, "accuracy " + s.accuracy());
    assertTrue(s.low() > s.floor() + 0.1, "interval [" + s.low() + ", " + s.high() + "] above the floor " + s.floor());
  }

  @Test
  void theSameVectorsGiveTheSameProbeEveryTime() {
    // Two partitions, as the stage's Spark has: MLlib's sums then merge in the order tasks finish.
    SparkSession spark = SparkTestSession.get("local[2]");
    Table t = table(200, 32, false, 5);
    // Length in letters from noise: eight classes nothing separates, so L-BFGS runs all its iterations.
    int[] y = t.letters().stream().mapToInt(SpellingProbe.Target.LENGTH::label).toArray();
    double[] first = LinearProbe.train(spark, t.vectors(), y, 0.01).coefficientMatrix().toArray();
    for (int run = 1; run < 6; run++) {
      double[] again = LinearProbe.train(spark, t.vectors(), y, 0.01).coefficientMatrix().toArray();
      assertArrayEquals(first, again, 0.0, "fit " + run + " differs from the first");
    }
  }

  @Test
  void shuffledLabelsStayAtTheFloor() {
    SparkSession spark = SparkTestSession.get("local[2]");
    Table train = table(600, 16, true, 1);
    Table test = table(300, 16, true, 2);
    List<String> shuffled = new ArrayList<>(train.letters());
    Collections.shuffle(shuffled, new Random(9));
    SpellingProbe.Score s = letterE(spark, train, shuffled, test);
    assertTrue(s.accuracy() <= s.floor() + 0.05, "accuracy " + s.accuracy() + " vs floor " + s.floor());
    assertTrue(s.low() <= s.floor(), "the interval [" + s.low() + ", " + s.high() + "] reaches the floor " + s.floor());
  }

  @Test
  void aTokensLettersAreItsTextLowerCasedLettersOnly() {
    assertEquals("the", SpellingProbe.letters(" The".getBytes(StandardCharsets.UTF_8)));
    assertEquals("caf", SpellingProbe.letters("café!".getBytes(StandardCharsets.UTF_8)));
    assertEquals("", SpellingProbe.letters("\n12".getBytes(StandardCharsets.UTF_8)));
    assertEquals(0, SpellingProbe.Target.FIRST_LETTER.label("apple"));
    assertEquals(7, SpellingProbe.Target.LENGTH.label("strawberry"), "8 letters and more share the last class");
  }

  @Test
  void theStageProbesEveryArmOnTokensNoTrainingWordHas(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    TrainingFixtures.Finetuned ft = TrainingFixtures.finetuned(spark, dir);
    Probe.run(spark, Probe.Options.from(CharsightConfig.load(null, List.of("probe.bootstrap_resamples=100")),
        ft.pretrain().toString(), ft.tasks().toString(), dir.resolve("probe").toString(), false));
    List<String> rows = Files.readAllLines(dir.resolve("probe/probe.csv"));
    assertEquals(SpellingProbe.HEADER, rows.get(0));
    // Three targets for each arm's input vector, and three more for char's encoder output alone.
    assertEquals(1 + 3 * 3, rows.size(), rows.toString());
    assertEquals(List.of("baseline,input", "char,input", "char,char_encoder"),
        rows.subList(1, rows.size()).stream().map(r -> r.split(",")[0] + "," + r.split(",")[1]).distinct().toList());
    var tok = org.charsight.shards.ShardSet.open(spark, ft.shards().toString()).tokenizer().open();
    Probe.Tokens tokens = Probe.tokens(spark, ft.tasks().toString(), tok, 2000, 1337);
    for (int id : tokens.testIds()) {
      for (int trained : tokens.trainIds()) assertTrue(id != trained, "a test token is a training token: " + id);
    }
    // The held-out words' own tokens come first, then the rest of the vocabulary's tokens with letters.
    assertTrue(tokens.testIds().length > tokens.fromHeldOutWords(), "more test tokens than held-out words have");
    for (int i = 0; i < tokens.fromHeldOutWords(); i++) assertTrue(!tokens.testLetters().get(i).isEmpty());
    assertEquals(10, Probe.tokens(spark, ft.tasks().toString(), tok, 10, 1337).testIds().length, "at most max_test_tokens");
    for (String row : rows.subList(1, rows.size())) {
      String[] f = row.split(",");
      assertEquals(tokens.trainIds().length, Integer.parseInt(f[4]), row);
      assertEquals(tokens.testIds().length, Integer.parseInt(f[5]), row);
      if (tokens.testIds().length > 0) {
        double acc = Double.parseDouble(f[6]);
        assertTrue(acc >= 0 && acc <= 1 && Double.parseDouble(f[7]) <= acc && acc <= Double.parseDouble(f[8]), row);
      }
    }
  }
}
