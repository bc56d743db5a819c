package org.charsight.testing;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads prepare's output back, as a later stage or a user would. */
public final class Shards {
  private Shards() {}

  public record WindowRow(long window, long docFirst, long docLast, int[] tokens) {}

  public static List<WindowRow> windows(SparkSession spark, String dir, String split) {
    List<WindowRow> out = new ArrayList<>();
    for (Row r : spark.read().parquet(dir + "/" + split).orderBy("window").collectAsList()) {
      List<Integer> t = r.getList(3);
      out.add(new WindowRow(r.getLong(0), r.getLong(1), r.getLong(2), t.stream().mapToInt(Integer::intValue).toArray()));
    }
    return out;
  }

  /** The split's token stream: windows overlap by one token. */
  public static int[] stream(List<WindowRow> windows) {
    List<Integer> s = new ArrayList<>();
    for (int w = 0; w < windows.size(); w++) {
      int[] t = windows.get(w).tokens();
      for (int i = w == 0 ? 0 : 1; i < t.length; i++) s.add(t[i]);
    }
    return s.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Splits a stream at end-of-text into documents' token lists. */
  public static List<int[]> documents(int[] stream, int eot) {
    List<int[]> docs = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < stream.length; i++) {
      if (stream[i] == eot) {
        docs.add(java.util.Arrays.copyOfRange(stream, start, i));
        start = i + 1;
      }
    }
    if (start != stream.length) throw new AssertionError("stream does not end with end-of-text");
    return docs;
  }
}
