package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CharsightConfigTest {

  @Test
  void commandLineOverridesWinOverFileAndDefaults(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("exp.conf");
    Files.writeString(f, "prepare { context = 64, tokenizer = bytes }\n");
    CharsightConfig c = CharsightConfig.load(f, List.of("prepare.context=32"));
    assertEquals(32, c.intAtLeast("prepare.context", 2));
    assertEquals("bytes", c.string("prepare.tokenizer"));
    assertEquals(0.01, c.number("prepare.val_fraction"));
  }

  @Test
  void valuesWithSlashesAndColonsSurviveAsStrings() {
    CharsightConfig c = CharsightConfig.load(null, List.of("prepare.tokenizer=s3a://bucket/tok"));
    assertEquals("s3a://bucket/tok", c.string("prepare.tokenizer"));
  }

  @Test
  void unknownKeysAreErrorsThatListTheKnownOnes() {
    UserError e = assertThrows(UserError.class, () -> CharsightConfig.load(null, List.of("prepare.contxt=5")));
    assertTrue(e.getMessage().contains("unknown conf key 'prepare.contxt' in the command line"), e.getMessage());
    assertTrue(e.getMessage().contains("prepare.context"), e.getMessage());
  }

  @Test
  void sparkConfIsFreeForm() {
    CharsightConfig c = CharsightConfig.load(null, List.of("spark.conf.spark.executor.memory=2g"));
    assertEquals("2g", c.section("spark.conf").get("spark.executor.memory"));
  }

  @Test
  void quotedSparkKeysReachSparkUnquoted(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path f = java.nio.file.Files.writeString(dir.resolve("c.conf"),
        "spark.conf { \"spark.executor.memory\" = 4g }\n");
    var section = CharsightConfig.load(f, List.of()).section("spark.conf");
    assertEquals("4g", section.get("spark.executor.memory"), section.toString());
    assertEquals("org.apache.spark.serializer.KryoSerializer", section.get("spark.serializer"), "the default serializer");
  }

  @Test
  void typedGettersNameTheKeyAndTheExpectation() {
    CharsightConfig c = CharsightConfig.load(null, List.of("prepare.context=1", "prepare.val_fraction=1.5", "seed=abc"));
    assertEquals("prepare.context: expected an integer >= 2, got 1",
        assertThrows(UserError.class, () -> c.intAtLeast("prepare.context", 2)).getMessage());
    assertEquals("prepare.val_fraction: expected a number in (0, 1), got 1.5",
        assertThrows(UserError.class, () -> c.openFraction("prepare.val_fraction")).getMessage());
    assertTrue(assertThrows(UserError.class, () -> c.longAtLeast("seed", 0)).getMessage().startsWith("seed: expected"));
  }

  @Test
  void missingConfFileIsAUserError() {
    UserError e = assertThrows(UserError.class, () -> CharsightConfig.load(Path.of("no/such.conf"), List.of()));
    assertEquals("--conf: file not found: no/such.conf", e.getMessage());
  }
}
