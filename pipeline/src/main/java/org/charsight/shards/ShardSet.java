package org.charsight.shards;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.tokenize.Tokenizers;

/**
 * The prepare stage's output as later stages see it: the manifest's facts, the vocabulary's bytes
 * and the windows, read through their public format (manifest.json and Parquet), nothing else.
 */
public final class ShardSet {
  private final SparkSession spark;
  private final String dir;
  private final JsonNode manifest;

  private ShardSet(SparkSession spark, String dir, JsonNode manifest) {
    this.spark = spark;
    this.dir = dir;
    this.manifest = manifest;
  }

  public static ShardSet open(SparkSession spark, String dir) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    JsonNode manifest = Manifest.read(dir, conf, Prepare.STAGE);
    return new ShardSet(spark, Manifest.qualified(dir, conf), manifest);
  }

  /** The directory as a full URI (file:/..., hdfs://...), so manifests that record it work from any directory. */
  public String dir() {
    return dir;
  }

  public JsonNode manifest() {
    return manifest;
  }

  public int vocabSize() {
    return manifest.at("/tokenizer/vocab_size").asInt();
  }

  /** Tokens per sequence; windows hold one more (the shifted targets). */
  public int context() {
    return manifest.at("/context").asInt();
  }

  public int endOfText() {
    return manifest.at("/tokenizer/end_of_text").asInt();
  }

  public String tokenizerName() {
    return manifest.at("/tokenizer/name").asText();
  }

  /**
   * The tokenizer the shards were made with, to encode new text the same way. A trained tokenizer
   * is read again from the directory recorded in the manifest.
   */
  public Tokenizers.Spec tokenizer() {
    String spec = manifest.at("/tokenizer/spec").asText();
    Tokenizers.Spec s =
        Tokenizers.parse("tokenizer of " + dir, spec, spark.sparkContext().hadoopConfiguration());
    if (s.open().vocabSize() != vocabSize()) {
      throw new UserError(dir + ": its tokenizer " + spec + " now has " + s.open().vocabSize() + " tokens; the shards were made with "
          + vocabSize());
    }
    return s;
  }

  public long windows(String split) {
    return manifest.at("/counts/" + split + "/windows").asLong();
  }

  /** Bytes of every token id, in id order (empty for special tokens). */
  public List<byte[]> vocabBytes() {
    List<Row> rows = spark.read().parquet(new Path(dir, "vocab.parquet").toString())
        .select("token_id", "bytes").orderBy("token_id").collectAsList();
    List<byte[]> out = new ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
      if (rows.get(i).getInt(0) != i) throw new UserError(dir + "/vocab.parquet: token ids are not 0.." + (rows.size() - 1));
      out.add((byte[]) rows.get(i).get(1));
    }
    if (out.size() != vocabSize()) {
      throw new UserError(dir + "/vocab.parquet has " + out.size() + " rows; the manifest says " + vocabSize());
    }
    return out;
  }

  /** The token ids that occur in a split (one Spark pass over its windows). */
  public BitSet occurringIds(String split) {
    BitSet ids = new BitSet(vocabSize());
    for (Row r : spark.read().parquet(new Path(dir, split).toString()).selectExpr("explode(tokens) as id").distinct()
        .collectAsList()) {
      ids.set(r.getInt(0));
    }
    return ids;
  }

  /** The first {@code limit} windows of a split, in stream order, collected to the driver. */
  public List<int[]> firstWindows(String split, int limit) {
    List<int[]> out = new ArrayList<>();
    for (Row r : spark.read().parquet(new Path(dir, split).toString()).orderBy("window").limit(limit).collectAsList()) {
      List<Integer> t = r.getList(r.fieldIndex("tokens"));
      out.add(t.stream().mapToInt(Integer::intValue).toArray());
    }
    return out;
  }
}
