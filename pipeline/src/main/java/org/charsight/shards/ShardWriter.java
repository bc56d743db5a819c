package org.charsight.shards;

import java.io.IOException;
import java.util.Iterator;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.charsight.shards.WindowPacker.Window;

/** Writes one shard of windows ({@link Prepare#WINDOW_SCHEMA}); see {@link ParquetRecords} for why directly. */
final class ShardWriter {
  static final MessageType SCHEMA = Types.buildMessage()
      .required(PrimitiveTypeName.INT64).named("window")
      .required(PrimitiveTypeName.INT64).named("doc_first")
      .required(PrimitiveTypeName.INT64).named("doc_last")
      .repeated(PrimitiveTypeName.INT32).named("tokens")
      .named("spark_schema");

  private ShardWriter() {}

  /** Writes every window to {@code file}, which must not exist; returns how many. */
  static long write(Configuration conf, Path file, Iterator<Window> windows, CompressionCodecName codec) throws IOException {
    return ParquetRecords.write(conf, file, SCHEMA, Prepare.WINDOW_SCHEMA, windows, (w, out) -> {
      ParquetRecords.writeLong(out, "window", 0, w.index());
      ParquetRecords.writeLong(out, "doc_first", 1, w.docFirst());
      ParquetRecords.writeLong(out, "doc_last", 2, w.docLast());
      ParquetRecords.writeInts(out, "tokens", 3, w.tokens());
    }, codec);
  }
}
