package org.charsight.corpus;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.util.TaskCompletionListener;
import org.charsight.common.SerializableHadoopConf;
import org.charsight.common.StableHash;
import org.charsight.common.UserError;
import org.charsight.corpus.InputFiles.InputFile;
import org.charsight.corpus.InputFiles.Split;

/**
 * Reads a corpus (text, JSONL, Parquet; local, HDFS or S3A) into an RDD of documents.
 *
 * <p>Text and JSONL are read by charsight's own {@link SplitReader} so encoding problems are counted
 * and reported per file; Parquet goes through Spark's reader (column pruning, splits).
 */
public final class CorpusReader {
  private CorpusReader() {}

  /** The documents plus what was listed, for the manifest. */
  public record Corpus(List<InputFile> files, long totalBytes, JavaRDD<Document> documents) {}

  public static Corpus read(SparkSession spark, String stage, List<String> inputs, CorpusOptions opts) {
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    List<InputFile> files = InputFiles.list(stage, inputs, opts, hadoop);
    long total = files.stream().mapToLong(InputFile::length).sum();
    if (total == 0) {
      throw new UserError(stage + ": the corpus is empty: " + files.size() + " file(s) under " + String.join(", ", inputs)
          + " hold 0 bytes");
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JavaRDD<Document> docs = null;

    List<InputFile> lineFiles = files.stream().filter(f -> f.format() != InputFormat.PARQUET).toList();
    if (!lineFiles.isEmpty()) {
      List<Split> splits = InputFiles.splits(lineFiles, opts.splitBytes());
      long bytes = lineFiles.stream().mapToLong(InputFile::length).sum();
      // A multiple of the cores, so no core idles through a last round of one task (3 tasks on 2
      // cores took as long as 4).
      int cores = jsc.defaultParallelism();
      long wanted = Math.max(cores, (bytes + opts.partitionBytes() - 1) / opts.partitionBytes());
      int tasks = (int) ((wanted + cores - 1) / cores * cores);
      List<List<Split>> groups = new ArrayList<>(InputFiles.group(splits, tasks));
      SerializableHadoopConf conf = new SerializableHadoopConf(hadoop);
      docs = jsc.parallelize(groups, groups.size()).flatMap(group -> readGroup(stage, group, opts, conf.get()));
    }

    List<InputFile> parquet = files.stream().filter(f -> f.format() == InputFormat.PARQUET).toList();
    if (!parquet.isEmpty()) {
      JavaRDD<Document> p = readParquet(spark, stage, parquet, opts);
      docs = docs == null ? p : docs.union(p);
    }
    return new Corpus(files, total, docs);
  }

  private static Iterator<Document> readGroup(String stage, List<Split> group, CorpusOptions opts, Configuration conf) {
    Iterator<Split> splits = group.iterator();
    return new Iterator<>() {
      SplitReader current;

      @Override
      public boolean hasNext() {
        while (current == null || !current.hasNext()) {
          if (!splits.hasNext()) return false;
          SplitReader r = new SplitReader(stage, splits.next(), opts, conf);
          TaskContext tc = TaskContext.get();
          if (tc != null) tc.addTaskCompletionListener((TaskCompletionListener) ctx -> r.close());
          current = r;
        }
        return true;
      }

      @Override
      public Document next() {
        if (!hasNext()) throw new NoSuchElementException();
        return current.next();
      }
    };
  }

  private static JavaRDD<Document> readParquet(SparkSession spark, String stage, List<InputFile> files, CorpusOptions opts) {
    String[] paths = files.stream().map(InputFile::path).toArray(String[]::new);
    Dataset<Row> df = spark.read().parquet(paths);
    String textCol = opts.parquetTextColumn();
    String idCol = opts.parquetIdColumn();
    StructField text = field(df, textCol);
    if (text == null) {
      throw new UserError(stage + ": Parquet input " + paths[0] + (paths.length > 1 ? " (and others)" : "")
          + " has no column '" + textCol + "' (corpus.parquet.text_column); columns: " + String.join(", ", df.columns()));
    }
    DataType t = text.dataType();
    if (!(t instanceof StringType) && !(t instanceof BinaryType)) {
      throw new UserError(stage + ": Parquet column '" + textCol + "' (corpus.parquet.text_column) is " + t.simpleString()
          + "; expected string or binary");
    }
    if (!idCol.isEmpty() && field(df, idCol) == null) {
      throw new UserError(stage + ": Parquet input has no column '" + idCol + "' (corpus.parquet.id_column); columns: "
          + String.join(", ", df.columns()));
    }
    Dataset<Row> sel = df.select(
        col(textCol).cast("binary").as("text"),
        (idCol.isEmpty() ? lit(null).cast("string") : col(idCol).cast("string")).as("id"),
        input_file_name().as("file"));
    int maxLine = opts.maxLineBytes();
    double maxInvalid = opts.maxInvalidUtf8Fraction();
    Map<String, String> names = new HashMap<>();
    for (InputFile f : files) names.put(new Path(f.path()).toUri().getPath(), f.name());
    return sel.javaRDD().flatMap(row -> {
      byte[] b = row.isNullAt(0) ? null : (byte[]) row.get(0);
      if (b == null) return Collections.emptyIterator();
      String file = row.getString(2);
      checkDocumentBytes(stage, file, b, maxLine);
      Utf8.Decoded d = Utf8.decode(b);
      if (d.invalid() > 0 && d.invalid() > maxInvalid * b.length) {
        throw new UserError(stage + ": " + file + " has a document that is not valid UTF-8 (" + d.invalid()
            + " invalid sequences in " + b.length + " bytes, more than corpus.max_invalid_utf8_fraction=" + maxInvalid + ")");
      }
      // Without an id column, a document is known by its file and content: stable across runs, and
      // duplicates within a file share an id, hence a split and an order.
      String name = names.getOrDefault(new Path(file).toUri().getPath(), file);
      String id = row.isNullAt(1) ? name + "#" + Long.toHexString(StableHash.hash64(0, d.text())) : row.getString(1);
      return List.of(new Document(id, d.text(), b.length, d.invalid())).iterator();
    });
  }

  private static StructField field(Dataset<Row> df, String name) {
    for (StructField f : df.schema().fields()) if (f.name().equals(name)) return f;
    return null;
  }

  /** The same binary and line-length checks the text reader applies, for a document given whole. */
  static void checkDocumentBytes(String stage, String source, byte[] b, int maxLine) {
    int lineStart = 0;
    for (int i = 0; i <= b.length; i++) {
      if (i == b.length || b[i] == '\n') {
        if (i - lineStart > maxLine) {
          throw new UserError(stage + ": " + source + " has a line longer than corpus.max_line_bytes=" + maxLine
              + " bytes; expected text with line breaks");
        }
        lineStart = i + 1;
      } else if (b[i] == 0) {
        throw new UserError(stage + ": " + source + " contains a NUL byte; this looks like binary data, expected UTF-8 text");
      }
    }
  }
}
