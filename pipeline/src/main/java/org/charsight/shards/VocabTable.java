package org.charsight.shards;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.charsight.corpus.Utf8;
import org.charsight.tokenize.Tokenizer;

/**
 * The char decomposition of a vocabulary: one row per token id with its UTF-8 bytes. This is the
 * table the char-aware model reads to spell each token; the shards themselves hold only ids.
 *
 * <p>{@code text} is the token decoded as UTF-8 where its bytes are valid on their own (a BPE
 * token may hold half a multi-byte character), else null. Special tokens have no bytes.
 */
public final class VocabTable {
  public static final StructType SCHEMA = new StructType()
      .add("token_id", DataTypes.IntegerType, false)
      .add("bytes", DataTypes.BinaryType, false)
      .add("text", DataTypes.StringType, true)
      .add("byte_length", DataTypes.IntegerType, false)
      .add("byte_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("special", DataTypes.BooleanType, false);

  private VocabTable() {}

  public static List<Row> rows(Tokenizer tok) {
    List<Row> rows = new ArrayList<>(tok.vocabSize());
    for (int id = 0; id < tok.vocabSize(); id++) {
      boolean special = tok.isSpecial(id);
      byte[] b = tok.tokenBytes(id);
      int[] ids = new int[b.length];
      for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
      String text = special ? tok.specialText(id) : Utf8.strict(b);
      rows.add(RowFactory.create(id, b, text, b.length, ids, special));
    }
    return rows;
  }

  /** Writes the table in a few files of about 8k rows, so no single Spark task carries it all. */
  public static void write(SparkSession spark, Tokenizer tok, String path, String compression) {
    List<Row> rows = rows(tok);
    int slices = Math.max(1, (rows.size() + 8191) / 8192);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    spark.createDataFrame(jsc.parallelize(rows, slices), SCHEMA).write().option("compression", compression).parquet(path);
  }
}
