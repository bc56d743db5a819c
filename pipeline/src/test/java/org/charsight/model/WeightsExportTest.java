package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.charsight.common.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class WeightsExportTest {

  /** Parses a .npy file the way NumPy does (format 1.0, little-endian float32, C order). */
  static float[] readNpy(Path p, long[] expectShape) throws Exception {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals((byte) 0x93, b.get());
    byte[] magic = new byte[5];
    b.get(magic);
    assertEquals("NUMPY", new String(magic, StandardCharsets.US_ASCII));
    assertEquals(1, b.get());
    assertEquals(0, b.get());
    int len = b.getShort() & 0xffff;
    byte[] h = new byte[len];
    b.get(h);
    String header = new String(h, StandardCharsets.US_ASCII);
    assertEquals(0, (10 + len) % 64, "header padded to 64 bytes");
    assertTrue(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), header);
    String shape = header.replaceAll(".*'shape': \\(([^)]*)\\).*\\s*", "$1").replace(" ", "");
    StringBuilder want = new StringBuilder();
    for (int i = 0; i < expectShape.length; i++) want.append(i > 0 ? "," : "").append(expectShape[i]);
    if (expectShape.length == 1) want.append(",");
    assertEquals(want.toString(), shape);
    float[] out = new float[b.remaining() / 4];
    for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
    return out;
  }

  @Test
  void everyParameterIsWrittenAsNpyWithAnIndex(@TempDir Path dir) throws Exception {
    LanguageModel m = LanguageModel.create(TinyModels.config(Arch.CHAR, 30, 8, 16, 1, 2, DataType.FLOAT),
        TinyModels.vocab(30, 1));
    Map<String, Object> index = WeightsExport.run(m, dir.resolve("w").toString(), false, new Configuration());
    Map<String, INDArray> params = m.graph().paramTable();
    assertEquals(params.keySet(), index.keySet());
    long total = 0;
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      float[] got = readNpy(dir.resolve("w/" + e.getKey() + ".npy"), e.getValue().shape());
      float[] want = e.getValue().dup('c').reshape(e.getValue().length()).toFloatVector();
      assertEquals(want.length, got.length, e.getKey());
      for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], e.getKey() + "[" + i + "]");
      total += want.length;
    }
    assertEquals(m.graph().numParams(), total);
    JsonNode manifest = Manifest.json().readTree(dir.resolve("w/manifest.json").toFile());
    assertEquals("char", manifest.at("/model/arch").asText().toLowerCase());
    assertEquals(total, manifest.get("parameters").asLong());
  }
}
