package org.charsight.common;

import com.univocity.parsers.csv.CsvWriter;
import com.univocity.parsers.csv.CsvWriterSettings;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A result table as CSV text (RFC 4180, as pandas, R and the report read it): a field is quoted
 * only when it holds a comma, a quote or a line break, quotes doubled; lines end in {@code \n} on
 * every platform. Model outputs and answers can hold any of these, which is why a library writes them.
 */
public final class CsvTable {
  private final StringWriter text = new StringWriter();
  private final CsvWriter writer;

  /** @param header the column names, comma-separated */
  public CsvTable(String header) {
    CsvWriterSettings s = new CsvWriterSettings();
    s.getFormat().setLineSeparator("\n");
    s.setQuoteEscapingEnabled(true);
    s.setIgnoreLeadingWhitespaces(false);
    s.setIgnoreTrailingWhitespaces(false);
    s.setNullValue("");
    s.setEmptyValue("");
    writer = new CsvWriter(text, s);
    writer.writeRow((Object[]) header.split(","));
  }

  /** One row: the fields of each part in turn (numbers already formatted). */
  public CsvTable row(String[]... parts) {
    List<String> fields = new ArrayList<>();
    for (String[] part : parts) fields.addAll(Arrays.asList(part));
    writer.writeRow(fields);
    return this;
  }

  public String text() {
    writer.flush();
    return text.toString();
  }
}
