package org.charsight.model;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.charsight.common.Manifest;
import org.charsight.common.StageOutput;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes every parameter as a NumPy {@code .npy} file (little-endian, C order) plus
 * {@code index.json} (name, file, shape, dtype, and what the name means), so a model can be checked
 * against, or moved to, another framework.
 *
 * <p>Layouts: DL4J stores dense weights as {@code [in, out]} (x·W, not PyTorch's W·x), the token
 * table as {@code [V, d]}, the position table as {@code [1, d, T]}.
 */
public final class WeightsExport {
  private WeightsExport() {}

  public static Map<String, Object> run(LanguageModel model, String out, boolean overwrite, Configuration conf) {
    Map<String, Object> index = new LinkedHashMap<>();
    try (StageOutput output = StageOutput.begin("export-weights", out, overwrite, conf)) {
      Map<String, INDArray> table = new TreeMap<>(model.graph().paramTable());
      for (Map.Entry<String, INDArray> e : table.entrySet()) {
        String file = e.getKey() + ".npy";
        INDArray a = e.getValue();
        try (OutputStream os = output.fs().create(output.resolve(file), true)) {
          os.write(npy(a));
        } catch (IOException ex) {
          throw new UncheckedIOException("cannot write " + file, ex);
        }
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("file", file);
        entry.put("shape", a.shape());
        entry.put("dtype", a.dataType() == DataType.DOUBLE ? "float64" : "float32");
        index.put(e.getKey(), entry);
      }
      Manifest m = new Manifest("export-weights");
      m.put("model", model.config());
      m.put("parameters", model.graph().numParams());
      m.put("layout", "dense weights [in, out] (y = x W + b); tokenEmbedding_W [V, d]; positionEmbedding_pos [1, d, T];"
          + " layer and parameter names joined by '_'; attention head h reads columns h*dh to (h+1)*dh-1 of q, k and v"
          + " (dh = d / heads), scores scaled by 1/sqrt(dh), causal");
      // What a second implementation needs beyond the tensors; ExportedWeightsReferenceTest builds one from these.
      Map<String, Object> activation = new LinkedHashMap<>();
      activation.put("name", "gelu (ND4J's sigmoid approximation, not GPT-2's tanh one)");
      activation.put("formula", "x * sigmoid(1.702 * x)");
      m.put("activation", activation);
      Map<String, Object> layerNorm = new LinkedHashMap<>();
      layerNorm.put("epsilon", 0.0);
      layerNorm.put("variance", "population (divisor d)");
      layerNorm.put("formula", "(x - mean) / sqrt(variance) * gain + bias, 0 where the variance is 0");
      m.put("layer_norm", layerNorm);
      m.put("tensors", index);
      m.write(output.fs(), output.dir());
      output.commit();
    }
    return index;
  }

  /** NumPy format 1.0: magic, header length, a Python-dict header padded to 64 bytes, raw data. */
  static byte[] npy(INDArray a) {
    boolean dbl = a.dataType() == DataType.DOUBLE;
    INDArray c = a.dup('c');
    long[] shape = c.shape();
    String dims = shape.length == 1 ? shape[0] + "," : String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toList());
    String header = "{'descr': '<" + (dbl ? "f8" : "f4") + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    int total = 10 + header.length() + 1;
    int pad = (64 - total % 64) % 64;
    header = header + " ".repeat(pad) + "\n";
    int n = (int) c.length();
    ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + n * (dbl ? 8 : 4)).order(ByteOrder.LITTLE_ENDIAN);
    buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
    buf.putShort((short) header.length());
    buf.put(header.getBytes(StandardCharsets.US_ASCII));
    if (dbl) {
      for (double v : c.reshape(n).toDoubleVector()) buf.putDouble(v);
    } else {
      for (float v : c.reshape(n).toFloatVector()) buf.putFloat(v);
    }
    return buf.array();
  }
}
