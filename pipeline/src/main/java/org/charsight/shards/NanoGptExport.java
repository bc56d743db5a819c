package org.charsight.shards;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.Manifest;
import org.charsight.common.StageOutput;
import org.charsight.common.UserError;

/**
 * Writes prepare's shards as nanoGPT's {@code train.bin}/{@code val.bin}: the token stream as
 * uint16 little-endian, so the same data can train nanoGPT for a cross-check.
 */
public final class NanoGptExport {
  private static final String STAGE = "export";

  private NanoGptExport() {}

  public static Map<String, Object> run(SparkSession spark, String shards, String out, boolean overwrite) {
    JsonNode prepared = Manifest.read(shards, spark.sparkContext().hadoopConfiguration(), Prepare.STAGE);
    int vocab = prepared.path("tokenizer").path("vocab_size").asInt();
    if (vocab > 65536) {
      throw new UserError(STAGE + ": the vocabulary of " + shards + " has " + vocab
          + " tokens and does not fit in uint16 (nanoGPT's .bin format holds ids < 65536)");
    }
    String target = out != null ? out : new Path(shards, "nanogpt").toString();
    Map<String, Object> counts = new LinkedHashMap<>();
    try (StageOutput output = StageOutput.begin(STAGE, target, overwrite, spark.sparkContext().hadoopConfiguration())) {
      for (String split : Prepare.SPLITS) {
        long n = 0;
        Iterator<Row> windows = spark.read().parquet(new Path(shards, split).toString())
            .orderBy("window").select("tokens").toLocalIterator();
        try (OutputStream os = new BufferedOutputStream(output.fs().create(output.resolve(split + ".bin")), 1 << 20)) {
          boolean first = true;
          while (windows.hasNext()) {
            List<Integer> tokens = windows.next().getList(0);
            // Consecutive windows share one token; write it once to get the stream back.
            for (int i = first ? 0 : 1; i < tokens.size(); i++) {
              int t = tokens.get(i);
              os.write(t & 0xff);
              os.write((t >>> 8) & 0xff);
              n++;
            }
            first = false;
          }
        } catch (IOException e) {
          throw new UncheckedIOException(STAGE + ": cannot write " + split + ".bin", e);
        }
        counts.put(split + "_tokens", n);
      }
      Manifest m = new Manifest(STAGE);
      m.put("format", "nanogpt");
      m.put("shards", shards);
      m.put("vocab_size", vocab);
      m.put("dtype", "uint16");
      m.put("tokenizer", prepared.path("tokenizer"));
      m.put("counts", counts);
      m.write(output.fs(), output.dir());
      output.commit();
    }
    return counts;
  }
}
