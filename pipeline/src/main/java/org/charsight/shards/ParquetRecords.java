package org.charsight.shards;

import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopStreams;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.sql.types.StructType;
import org.charsight.common.Manifest;

/**
 * Writes a Parquet file with Parquet's own writer, record by record, for the two tables prepare
 * writes (shards, vocabulary).
 *
 * <p>Why not a DataFrame write: Spark writes {@code array<int>} as a three-level LIST, a group per
 * element, and Parquet's record writer spends about 100 ns on every group's bookkeeping, which was
 * 40% of prepare's time; and a small table still costs a Spark job. Here arrays of ints are
 * repeated int32 fields, which Parquet's spec reads as lists of required ints: Spark reads them
 * back as {@code array<int>} (the Spark schema is recorded in the footer, as Spark does), as do
 * pyarrow and pandas.
 */
final class ParquetRecords {
  /** The footer key Spark reads its own schema from. */
  private static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

  /** Emits one record's fields; the record's message is started and ended around it. */
  interface Fields<T> {
    void write(T record, RecordConsumer out);
  }

  private ParquetRecords() {}

  /** Writes every record to {@code file}, which must not exist; returns how many. */
  static <T> long write(Configuration conf, Path file, MessageType schema, StructType sparkSchema, Iterator<T> records,
      Fields<T> fields, CompressionCodecName codec) throws IOException {
    long n = 0;
    // The stream is opened here, not by Parquet: when a write fails (a full disk), ParquetWriter.close
    // fails before it closes its stream, and the open file would pin the disk until the JVM exits.
    // Without Hadoop's checksum sidecar too (outputs keep none): its stream also stays open when a
    // flush fails on close.
    FSDataOutputStream stream = Manifest.withoutChecksums(file.getFileSystem(conf)).create(file, false);
    try (ParquetWriter<T> w = new Builder<>(new Opened(stream), new Support<>(schema, sparkSchema, fields)).withConf(conf)
        .withCompressionCodec(codec)
        // Token ids are near-random ints: a dictionary costs time and saves little over plain + zstd.
        .withDictionaryEncoding(false)
        .withWriteMode(ParquetFileWriter.Mode.CREATE)
        .build()) {
      while (records.hasNext()) {
        w.write(records.next());
        n++;
      }
    } finally {
      stream.close(); // a second close of a closed stream does nothing
    }
    return n;
  }

  /** A file whose stream is already open. */
  private record Opened(FSDataOutputStream stream) implements OutputFile {
    @Override
    public PositionOutputStream create(long blockSizeHint) {
      return HadoopStreams.wrap(stream);
    }

    @Override
    public PositionOutputStream createOrOverwrite(long blockSizeHint) {
      return HadoopStreams.wrap(stream);
    }

    @Override
    public boolean supportsBlockSize() {
      return false;
    }

    @Override
    public long defaultBlockSize() {
      return 0;
    }
  }

  static void writeInt(RecordConsumer out, String field, int index, int value) {
    out.startField(field, index);
    out.addInteger(value);
    out.endField(field, index);
  }

  static void writeLong(RecordConsumer out, String field, int index, long value) {
    out.startField(field, index);
    out.addLong(value);
    out.endField(field, index);
  }

  /** A repeated int32; an empty one is written by leaving the field out. */
  static void writeInts(RecordConsumer out, String field, int index, int[] values) {
    if (values.length == 0) return;
    out.startField(field, index);
    for (int v : values) out.addInteger(v);
    out.endField(field, index);
  }

  private static final class Builder<T> extends ParquetWriter.Builder<T, Builder<T>> {
    private final Support<T> support;

    Builder(OutputFile file, Support<T> support) {
      super(file);
      this.support = support;
    }

    @Override
    protected Builder<T> self() {
      return this;
    }

    @Override
    protected WriteSupport<T> getWriteSupport(Configuration conf) {
      return support;
    }
  }

  private static final class Support<T> extends WriteSupport<T> {
    private final MessageType schema;
    private final StructType sparkSchema;
    private final Fields<T> fields;
    private RecordConsumer out;

    Support(MessageType schema, StructType sparkSchema, Fields<T> fields) {
      this.schema = schema;
      this.sparkSchema = sparkSchema;
      this.fields = fields;
    }

    @Override
    public WriteContext init(Configuration configuration) {
      return new WriteContext(schema, Map.of(SPARK_SCHEMA_KEY, sparkSchema.json()));
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
      out = recordConsumer;
    }

    @Override
    public void write(T record) {
      out.startMessage();
      fields.write(record, out);
      out.endMessage();
    }
  }
}
