package org.charsight.shards;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
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

  private static final MessageType PARQUET = Types.buildMessage()
      .required(PrimitiveTypeName.INT32).named("token_id")
      .required(PrimitiveTypeName.BINARY).named("bytes")
      .optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("text")
      .required(PrimitiveTypeName.INT32).named("byte_length")
      .repeated(PrimitiveTypeName.INT32).named("byte_ids")
      .required(PrimitiveTypeName.BOOLEAN).named("special")
      .named("spark_schema");

  /**
   * Writes the table as one file from the driver, with Parquet's own writer: a Spark job for a few
   * megabytes cost more than the writing (0.5 s of prepare's 3 s on two cores).
   */
  public static void write(Configuration conf, Tokenizer tok, String dir, CompressionCodecName codec) throws IOException {
    ParquetRecords.write(conf, new Path(dir, "part-00000.parquet"), PARQUET, SCHEMA, rows(tok).iterator(), (r, out) -> {
      ParquetRecords.writeInt(out, "token_id", 0, r.getInt(0));
      out.startField("bytes", 1);
      out.addBinary(Binary.fromConstantByteArray((byte[]) r.get(1)));
      out.endField("bytes", 1);
      if (!r.isNullAt(2)) {
        out.startField("text", 2);
        out.addBinary(Binary.fromString(r.getString(2)));
        out.endField("text", 2);
      }
      ParquetRecords.writeInt(out, "byte_length", 3, r.getInt(3));
      ParquetRecords.writeInts(out, "byte_ids", 4, (int[]) r.get(4));
      out.startField("special", 5);
      out.addBoolean(r.getBoolean(5));
      out.endField("special", 5);
    }, codec);
  }
}
