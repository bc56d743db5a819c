package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Result tables are RFC 4180: plain fields as they are, fields with commas, quotes or line breaks quoted. */
class CsvTableTest {

  @Test
  void onlyFieldsThatNeedItAreQuotedAndEverythingReadsBack() {
    String[] tricky = {"count", "val_heldout", "a, b", "say \"hi\"", "two\nlines", "", " spaced ", "0.5000"};
    String text = new CsvTable("task,split,a,b,c,d,e,f").row(new String[] {"reverse", "val_nonce"},
        new String[] {"1", "2", "3", "4", "5", "0.1250"}).row(tricky).text();
    assertEquals("task,split,a,b,c,d,e,f\nreverse,val_nonce,1,2,3,4,5,0.1250\n"
        + "count,val_heldout,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",, spaced ,0.5000\n", text);
    CsvParserSettings s = new CsvParserSettings();
    s.getFormat().setLineSeparator("\n");
    s.setHeaderExtractionEnabled(true);
    s.setIgnoreLeadingWhitespaces(false);
    s.setIgnoreTrailingWhitespaces(false);
    s.setNullValue("");
    s.setEmptyValue("");
    List<String[]> rows = new CsvParser(s).parseAll(new StringReader(text));
    assertEquals(2, rows.size());
    assertArrayEquals(tricky, rows.get(1));
  }
}
