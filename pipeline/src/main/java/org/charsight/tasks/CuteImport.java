package org.charsight.tasks;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.charsight.common.UserError;

/**
 * Reads the character tasks of the CUTE benchmark from its TSV files ({@code input1..input3},
 * {@code label}; the task is the file name, {@code *_rand} files hold nonce strings) into
 * charsight examples. Every item is rebuilt with charsight's own rule, and items whose CUTE label
 * disagrees with the rule are counted; the CUTE label is kept as the answer.
 */
public final class CuteImport {
  private CuteImport() {}

  /** One imported item: the example and whether CUTE's label agreed with charsight's rule. */
  public record Item(CharTask.Example example, boolean nonce, boolean agrees) implements Serializable {}

  public static List<Item> parse(String fileName, List<String> lines) {
    String base = fileName.replaceAll(".*/", "").replaceAll("\\.tsv$", "");
    boolean nonce = base.endsWith("_rand");
    String name = nonce ? base.substring(0, base.length() - "_rand".length()) : base;
    CharTask task;
    try {
      task = CharTask.parse("--import-cute", name);
    } catch (UserError e) {
      throw new UserError("--import-cute: " + fileName + ": '" + name
          + "' is not one of the character tasks charsight runs (spell, spell_inverse, contains_char, ins_char, del_char, "
          + "sub_char, swap_char)");
    }
    int needed = inputs(task, fileName, name);
    List<String> header = lines.isEmpty() ? List.of() : List.of(lines.get(0).strip().split("\t", -1));
    if (!isHeader(header, needed)) {
      throw new UserError("--import-cute: " + fileName + " line 1: expected CUTE's header, input1 to input" + needed
          + " (or more) and label, tab-separated; got '" + (lines.isEmpty() ? "" : lines.get(0)) + "'");
    }
    List<Item> out = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) { // line 0 is the header
      String line = lines.get(i);
      if (line.isBlank()) continue;
      String[] c = line.split("\t", -1);
      String where = "--import-cute: " + fileName + " line " + (i + 1);
      if (c.length != header.size()) {
        throw new UserError(where + ": expected " + header.size() + " tab-separated columns (" + String.join(", ", header)
            + "), got " + c.length + " in '" + line + "'");
      }
      try {
        out.add(item(task, c, nonce, (i - 1) % task.phrasings.size()));
      } catch (ArrayIndexOutOfBoundsException | IllegalArgumentException e) {
        throw new UserError(where + ": expected CUTE's " + name + " columns, got '" + line + "' ("
            + e.getMessage() + ")");
      }
    }
    return out;
  }

  /** One row as charsight's example of the task, CUTE's label kept as the answer. */
  private static Item item(CharTask task, String[] c, boolean nonce, int phrasing) {
    String word;
    char x = 0;
    char y = 0;
    switch (task) {
      case SPELL -> word = c[0];
      case SPELL_INVERSE -> word = c[0].replace(" ", "");
      case CONTAINS_CHAR, DEL_CHAR -> {
        x = letter(c[0]);
        word = c[1];
      }
      case SUB_CHAR, SWAP_CHAR -> {
        x = letter(c[0]);
        y = letter(c[1]);
        word = c[2];
      }
      case INS_CHAR -> {
        y = letter(c[0]); // the letter inserted ...
        x = letter(c[1]); // ... after every one of these
        word = c[2];
      }
      default -> throw new IllegalStateException(task + " has no CUTE file format"); // refused by inputs()
    }
    String label = c[c.length - 1].trim();
    if (task == CharTask.CONTAINS_CHAR) label = label.toLowerCase(Locale.ROOT);
    CharTask.Example ours = task.example(word, x, y, phrasing);
    CharTask.Example kept = new CharTask.Example(task, word, x, y, ours.phrasing(), ours.prompt(), label);
    return new Item(kept, nonce, ours.answer().equals(label));
  }

  /** How many of CUTE's input columns a task uses. */
  static int inputs(CharTask task, String fileName, String name) {
    return switch (task) {
      case SPELL, SPELL_INVERSE -> 1;
      case CONTAINS_CHAR, DEL_CHAR -> 2;
      case SUB_CHAR, SWAP_CHAR, INS_CHAR -> 3;
      default -> throw new UserError("--import-cute: " + fileName + ": task '" + name + "' has no CUTE file format");
    };
  }

  /** input1 .. inputN, label with N at least the task's inputs: a file of other columns is not CUTE's. */
  static boolean isHeader(List<String> columns, int needed) {
    if (columns.size() < needed + 1 || !columns.get(columns.size() - 1).equals("label")) return false;
    for (int i = 0; i < columns.size() - 1; i++) {
      if (!columns.get(i).equals("input" + (i + 1))) return false;
    }
    return true;
  }

  private static char letter(String s) {
    if (s.length() != 1) throw new IllegalArgumentException("a single letter expected, got '" + s + "'");
    return s.charAt(0);
  }
}
