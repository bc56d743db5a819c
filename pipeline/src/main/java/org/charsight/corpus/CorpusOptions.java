package org.charsight.corpus;

import java.io.Serializable;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;

/**
 * How documents are read, from conf section {@code corpus}. Shared by every stage that reads raw
 * text (prepare, train-tokenizer, tasks), so one corpus is read one way.
 *
 * @param format null for auto (by file name)
 * @param paragraphs text files: true splits on blank lines, false makes each file one document
 */
public record CorpusOptions(
    InputFormat format,
    boolean paragraphs,
    String jsonlTextField,
    String jsonlIdField,
    String parquetTextColumn,
    String parquetIdColumn,
    int maxLineBytes,
    long maxDocumentBytes,
    double maxInvalidUtf8Fraction,
    long splitBytes,
    long partitionBytes)
    implements Serializable {

  public static CorpusOptions from(CharsightConfig c) {
    String f = c.oneOf("corpus.format", "auto", "text", "jsonl", "parquet");
    String doc = c.oneOf("corpus.text.document", "file", "paragraphs");
    double invalid = c.number("corpus.max_invalid_utf8_fraction");
    if (invalid < 0 || invalid > 1) {
      throw new UserError(
          "corpus.max_invalid_utf8_fraction: expected a number in [0, 1], got " + invalid);
    }
    return new CorpusOptions(
        InputFormat.parseConf(f),
        doc.equals("paragraphs"),
        c.string("corpus.jsonl.text_field"),
        c.string("corpus.jsonl.id_field"),
        c.string("corpus.parquet.text_column"),
        c.string("corpus.parquet.id_column"),
        c.intAtLeast("corpus.max_line_bytes", 1),
        c.longAtLeast("corpus.max_document_bytes", 1),
        invalid,
        c.longAtLeast("corpus.split_bytes", 1 << 20),
        c.longAtLeast("corpus.partition_bytes", 1 << 16));
  }
}
