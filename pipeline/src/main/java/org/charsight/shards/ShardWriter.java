package org.charsight.shards;

import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.charsight.shards.WindowPacker.Window;

/**
 * Writes one shard of windows with Parquet's own writer.
 *
 * <p>Why not a DataFrame write: Spark writes {@code array<int>} as a three-level LIST, a group per
 * element, and Parquet's record writer spends about 100 ns on every group's bookkeeping, which was
 * 40% of prepare's time. Here {@code tokens} is a repeated int32, which Parquet's spec reads as a
 * list of required ints: Spark reads it back as the same {@code array<int>} ({@link
 * Prepare#WINDOW_SCHEMA}, recorded in the footer as Spark does), as do pyarrow and pandas.
 */
final class ShardWriter {
  static final MessageType SCHEMA = Types.buildMessage()
      .required(PrimitiveTypeName.INT64).named("window")
      .required(PrimitiveTypeName.INT64).named("doc_first")
      .required(PrimitiveTypeName.INT64).named("doc_last")
      .repeated(PrimitiveTypeName.INT32).named("tokens")
      .named("spark_schema");

  /** The footer key Spark reads its own schema from. */
  private static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

  private ShardWriter() {}

  /** Writes every window to {@code file}, which must not exist; returns how many. */
  static long write(Configuration conf, Path file, Iterator<Window> windows, CompressionCodecName codec) throws IOException {
    long n = 0;
    try (ParquetWriter<Window> w = new Builder(file).withConf(conf).withCompressionCodec(codec)
        // Token ids are near-random ints: a dictionary costs time and saves little over plain + zstd.
        .withDictionaryEncoding(false)
        .withWriteMode(ParquetFileWriter.Mode.CREATE)
        .build()) {
      while (windows.hasNext()) {
        w.write(windows.next());
        n++;
      }
    }
    return n;
  }

  private static final class Builder extends ParquetWriter.Builder<Window, Builder> {
    Builder(Path file) {
      super(file);
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    protected WriteSupport<Window> getWriteSupport(Configuration conf) {
      return new WindowWriteSupport();
    }
  }

  private static final class WindowWriteSupport extends WriteSupport<Window> {
    private RecordConsumer out;

    @Override
    public WriteContext init(Configuration configuration) {
      Map<String, String> footer = new HashMap<>();
      footer.put(SPARK_SCHEMA_KEY, Prepare.WINDOW_SCHEMA.json());
      return new WriteContext(SCHEMA, footer);
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      out = recordConsumer;
    }

    @Override
    public void write(Window w) {
      out.startMessage();
      writeLong("window", 0, w.index());
      writeLong("doc_first", 1, w.docFirst());
      writeLong("doc_last", 2, w.docLast());
      int[] tokens = w.tokens();
      // An empty repeated field is written by leaving it out; windows are never empty.
      if (tokens.length > 0) {
        out.startField("tokens", 3);
        for (int t : tokens) out.addInteger(t);
        out.endField("tokens", 3);
      }
      out.endMessage();
    }

    private void writeLong(String field, int index, long value) {
      out.startField(field, index);
      out.addLong(value);
      out.endField(field, index);
    }
  }
}
