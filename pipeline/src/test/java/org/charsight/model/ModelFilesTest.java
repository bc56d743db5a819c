package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.charsight.common.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** Models on a Hadoop FileSystem: written verified, read back whole, and a damaged one named as the user knows it. */
class ModelFilesTest {

  @Test
  void aWrittenModelReadsBackAndADamagedOneIsNamedByItsOwnPath(@TempDir Path dir) throws Exception {
    LanguageModel m = LanguageModel.create(TinyModels.config(Arch.CHAR, 30, 8, 16, 1, 2, DataType.FLOAT),
        TinyModels.vocab(30, 1));
    FileSystem fs = FileSystem.getLocal(new Configuration());
    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir.resolve("m/model.zip").toUri());
    String sha = ModelFiles.write(fs, file, m);
    assertEquals(sha, ModelFiles.sha256(fs, file));
    try (var files = Files.list(dir.resolve("m"))) {
      assertEquals(1, files.count(), "no temporary or .crc file left beside it");
    }
    LanguageModel back = ModelFiles.read(fs, file);
    assertEquals(m.config(), back.config());
    assertEquals(0.0, m.graph().params().sub(back.graph().params()).amaxNumber().doubleValue());

    byte[] whole = Files.readAllBytes(dir.resolve("m/model.zip"));
    Files.write(dir.resolve("m/model.zip"), Arrays.copyOf(whole, whole.length / 2));
    UserError e = assertThrows(UserError.class, () -> ModelFiles.read(fs, file));
    assertTrue(e.getMessage().startsWith(file + ": not a "), e.getMessage());
    assertTrue(!e.getMessage().contains("charsight-model-"), "names the file, not a temporary copy: " + e.getMessage());
    e = assertThrows(UserError.class, () -> ModelFiles.read(fs, new org.apache.hadoop.fs.Path(dir.resolve("none.zip").toUri())));
    assertTrue(e.getMessage().endsWith("none.zip: model file not found"), e.getMessage());
  }
}
