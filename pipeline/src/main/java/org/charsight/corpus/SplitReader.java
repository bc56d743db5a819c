package org.charsight.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.charsight.common.UserError;
import org.charsight.corpus.InputFiles.Split;

/**
 * Reads the documents of one text or JSONL split, on an executor, checking as it goes that the
 * input really is UTF-8 text: a NUL byte means binary, an endless line means not prose, and more
 * invalid UTF-8 than {@code corpus.max_invalid_utf8_fraction} means a wrong encoding. Each check
 * fails with the file and line.
 */
final class SplitReader implements Iterator<Document>, Closeable {
  private final String stage;
  private final Split split;
  private final CorpusOptions opts;
  private final String path;
  private final InputStream stream;
  private final ByteLines lines;
  private final ObjectMapper json = new ObjectMapper();
  private Document pending;
  private boolean finished;
  private long paragraphIndex;
  private long bytesRead;
  private long invalidTotal;

  SplitReader(String stage, Split split, CorpusOptions opts, Configuration conf) {
    this.stage = stage;
    this.split = split;
    this.opts = opts;
    this.path = split.file().path();
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      FSDataInputStream raw = fs.open(p);
      CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
      if (codec != null) {
        stream = codec.createInputStream(raw);
        lines = new ByteLines(stream, 0, opts.maxLineBytes(), this::tooLong);
      } else {
        long start = split.start();
        if (start > 0) raw.seek(start - 1);
        stream = raw;
        lines = new ByteLines(stream, Math.max(0, start - 1), opts.maxLineBytes(), this::tooLong);
        // A line that began before this split belongs to the previous one.
        if (start > 0) lines.skipPartialLine();
      }
    } catch (IOException e) {
      throw new UserError(stage + ": cannot open " + path + ": " + e.getMessage(), e);
    }
  }

  private RuntimeException tooLong(long lineNumber, long offset) {
    return new UserError(stage + ": " + path + " " + where(lineNumber, offset) + " is longer than corpus.max_line_bytes="
        + opts.maxLineBytes() + " bytes; expected text with line breaks (raise corpus.max_line_bytes if this is intended)");
  }

  private String where(long lineNumber, long offset) {
    return split.start() == 0 ? "line " + lineNumber : "line at byte " + offset;
  }

  @Override
  public boolean hasNext() {
    if (pending == null && !finished) {
      try {
        pending = read();
      } catch (IOException e) {
        throw new UncheckedIOException(stage + ": error reading " + path, e);
      }
      if (pending == null) {
        finished = true;
        checkEncoding();
        close();
      }
    }
    return pending != null;
  }

  @Override
  public Document next() {
    if (!hasNext()) throw new NoSuchElementException();
    Document d = pending;
    pending = null;
    return d;
  }

  private Document read() throws IOException {
    return switch (split.file().format()) {
      case TEXT -> opts.paragraphs() ? readParagraph() : readWholeFile();
      case JSONL -> readJsonLine();
      case PARQUET -> throw new IllegalStateException("Parquet is read by Spark, not by SplitReader");
    };
  }

  private boolean nextLineInSplit() throws IOException {
    if (split.file().compressed() || split.end() >= split.file().length()) return lines.next();
    // A line starting at or after the split end belongs to the next split.
    return lines.position() < split.end() && lines.next();
  }

  private Document readWholeFile() throws IOException {
    if (paragraphIndex++ > 0) return null;
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    boolean first = true;
    while (lines.next()) {
      checkLine();
      if (all.size() + lines.length() + 1 > opts.maxDocumentBytes()) {
        throw new UserError(stage + ": " + path + " is larger than corpus.max_document_bytes=" + opts.maxDocumentBytes()
            + " as one document; set corpus.text.document=paragraphs or convert it to JSONL");
      }
      if (!first) all.write('\n');
      first = false;
      all.write(lines.bytes(), 0, lines.length());
    }
    byte[] b = all.toByteArray();
    return decode(split.file().name(), b, b.length, lines.position());
  }

  private Document readParagraph() throws IOException {
    long from = lines.position();
    ByteArrayOutputStream para = new ByteArrayOutputStream();
    while (lines.next()) {
      checkLine();
      if (isBlank(lines.bytes(), lines.length())) {
        if (para.size() > 0) break;
        continue;
      }
      if (para.size() > 0) para.write('\n');
      para.write(lines.bytes(), 0, lines.length());
      if (para.size() > opts.maxDocumentBytes()) {
        throw new UserError(stage + ": " + path + " has a paragraph larger than corpus.max_document_bytes="
            + opts.maxDocumentBytes() + " near line " + lines.lineNumber());
      }
    }
    if (para.size() == 0) return null;
    byte[] b = para.toByteArray();
    return decode(split.file().name() + "#" + paragraphIndex++, b, b.length, lines.position() - from);
  }

  private Document readJsonLine() throws IOException {
    while (nextLineInSplit()) {
      checkLine();
      if (isBlank(lines.bytes(), lines.length())) continue;
      Utf8.Decoded d = Utf8.decode(lines.bytes(), 0, lines.length());
      bytesRead += lines.length() + 1;
      invalidTotal += d.invalid();
      String at = path + " " + where(lines.lineNumber(), lines.lineStart());
      JsonNode node;
      try {
        node = json.readTree(d.text());
      } catch (JsonProcessingException e) {
        throw new UserError(stage + ": " + at + ": invalid JSON (" + e.getOriginalMessage() + ")");
      }
      if (!node.isObject()) throw new UserError(stage + ": " + at + ": expected one JSON object per line");
      JsonNode text = node.get(opts.jsonlTextField());
      if (text == null || !text.isTextual()) {
        throw new UserError(stage + ": " + at + ": field '" + opts.jsonlTextField()
            + "' (corpus.jsonl.text_field) is missing or not a string");
      }
      String id = split.file().name() + "@" + lines.lineStart();
      if (!opts.jsonlIdField().isEmpty()) {
        JsonNode idNode = node.get(opts.jsonlIdField());
        if (idNode == null || idNode.isNull() || idNode.isContainerNode()) {
          throw new UserError(stage + ": " + at + ": field '" + opts.jsonlIdField()
              + "' (corpus.jsonl.id_field) is missing or not a scalar");
        }
        id = idNode.asText();
      }
      return new Document(id, text.asText(), lines.length() + 1, d.invalid());
    }
    return null;
  }

  private void checkLine() {
    byte[] b = lines.bytes();
    for (int i = 0, n = lines.length(); i < n; i++) {
      if (b[i] == 0) {
        throw new UserError(stage + ": " + path + " " + where(lines.lineNumber(), lines.lineStart())
            + " contains a NUL byte; this looks like a binary file, expected UTF-8 text");
      }
    }
  }

  private Document decode(String id, byte[] b, int n, long sourceBytes) {
    Utf8.Decoded d = Utf8.decode(b, 0, n);
    bytesRead += n;
    invalidTotal += d.invalid();
    return new Document(id, d.text(), sourceBytes, d.invalid());
  }

  /** Runs when the split is exhausted: a few replaced bytes are counted, a wrong encoding is an error. */
  private void checkEncoding() {
    if (invalidTotal > 0 && invalidTotal > opts.maxInvalidUtf8Fraction() * Math.max(1, bytesRead)) {
      throw new UserError(stage + ": " + path + " is not valid UTF-8: " + invalidTotal + " invalid sequences in "
          + bytesRead + " bytes, more than corpus.max_invalid_utf8_fraction=" + opts.maxInvalidUtf8Fraction()
          + "; convert it to UTF-8");
    }
  }

  private static boolean isBlank(byte[] b, int n) {
    for (int i = 0; i < n; i++) {
      byte c = b[i];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != 0x0b) return false;
    }
    return true;
  }

  @Override
  public void close() {
    try {
      stream.close();
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot close " + path, e);
    }
  }
}
