package org.charsight.corpus;

import java.util.Locale;

/** The corpus formats charsight reads. {@code auto} chooses by file name. */
public enum InputFormat {
  TEXT, JSONL, PARQUET;

  /** Format from a file name, looking through a compression suffix; null when unknown. */
  public static InputFormat fromFileName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    for (String z : new String[] {".gz", ".bz2", ".zst", ".deflate", ".lz4", ".snappy"}) {
      if (n.endsWith(z) && !n.endsWith(".parquet" + z)) {
        n = n.substring(0, n.length() - z.length());
        break;
      }
    }
    if (n.endsWith(".txt") || n.endsWith(".text") || n.endsWith(".md")) return TEXT;
    if (n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json")) return JSONL;
    if (n.endsWith(".parquet")) return PARQUET;
    return null;
  }

  public static InputFormat parseConf(String value) {
    return switch (value) {
      case "text" -> TEXT;
      case "jsonl" -> JSONL;
      case "parquet" -> PARQUET;
      default -> null;
    };
  }
}
