package org.charsight.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.charsight.common.UserError;
import org.junit.jupiter.api.Test;

/** CUTE's file layouts, with rows written here from the benchmark's documented examples. */
class CuteImportTest {

  @Test
  void everyCharacterTaskLayoutIsReadAndAgreesWithOurRules() {
    check("spell.tsv", "input1\tlabel", "the\tt h e");
    check("spell_inverse.tsv", "input1\tlabel", "t h e\tthe");
    check("contains_char.tsv", "input1\tinput2\tlabel", "l\tthe\tNo", "n\tand\tYes");
    check("del_char.tsv", "input1\tinput2\tlabel", "t\tthe\the");
    check("sub_char.tsv", "input1\tinput2\tinput3\tlabel", "h\tc\tthe\ttce");
    check("swap_char.tsv", "input1\tinput2\tinput3\tlabel", "e\th\tthe\tteh");
    check("ins_char.tsv", "input1\tinput2\tinput3\tlabel", "m\th\tthe\tthme", "z\tl\tall\talzlz");
  }

  static void check(String file, String header, String... rows) {
    List<String> lines = new java.util.ArrayList<>(List.of(header));
    lines.addAll(List.of(rows));
    List<CuteImport.Item> items = CuteImport.parse(file, lines);
    assertEquals(rows.length, items.size(), file);
    for (CuteImport.Item it : items) {
      assertTrue(it.agrees(), file + ": " + it.example());
      assertFalse(it.nonce());
      assertTrue(it.example().prompt().contains(it.example().task() == CharTask.SPELL_INVERSE ? "t h e" : "\""), file);
    }
  }

  @Test
  void randFilesAreNonceAndDisagreementsAreCountedNotHidden() {
    List<CuteImport.Item> items = CuteImport.parse("data/del_char_rand.tsv",
        List.of("input1\tinput2\tlabel", "b\tbdj\tdj", "k\tkbl\tkkbl"));
    assertTrue(items.get(0).nonce() && items.get(0).agrees());
    assertFalse(items.get(1).agrees(), "a wrong label is flagged");
    assertEquals("kkbl", items.get(1).example().answer(), "and kept as the benchmark's answer");
  }

  @Test
  void wordTasksAndBrokenRowsAreUserErrors() {
    UserError e = assertThrows(UserError.class, () -> CuteImport.parse("sem.tsv", List.of("input1\tlabel", "x\ty")));
    assertTrue(e.getMessage().startsWith("--import-cute: sem.tsv: 'sem' is not one of the character tasks"), e.getMessage());
    e = assertThrows(UserError.class, () -> CuteImport.parse("sub_char.tsv",
        List.of("input1\tinput2\tinput3\tlabel", "hh\tc\tthe\ttce")));
    assertTrue(e.getMessage().startsWith("--import-cute: sub_char.tsv line 2: expected CUTE's sub_char columns"), e.getMessage());
    e = assertThrows(UserError.class, () -> CuteImport.parse("sub_char.tsv",
        List.of("input1\tinput2\tinput3\tlabel", "h\tc\tthe")));
    assertEquals("--import-cute: sub_char.tsv line 2: expected 4 tab-separated columns (input1, input2, input3, label), "
        + "got 3 in 'h\tc\tthe'", e.getMessage());
  }

  /** A table of other columns is refused, not read as items whose labels happen to disagree. */
  @Test
  void otherColumnsAreRefusedWithFileAndLine() {
    UserError e = assertThrows(UserError.class, () -> CuteImport.parse("data/spell.tsv", List.of("foo\tbar\tbaz", "1\t2\t3")));
    assertEquals("--import-cute: data/spell.tsv line 1: expected CUTE's header, input1 to input1 (or more) and label, "
        + "tab-separated; got 'foo\tbar\tbaz'", e.getMessage());
    e = assertThrows(UserError.class, () -> CuteImport.parse("sub_char.tsv", List.of("input1\tinput2\tlabel", "h\tthe\tx")));
    assertTrue(e.getMessage().startsWith("--import-cute: sub_char.tsv line 1: expected CUTE's header, input1 to input3"),
        e.getMessage());
    assertThrows(UserError.class, () -> CuteImport.parse("spell.tsv", List.of()));
    // CUTE's files may all carry input1..input3; a task reads the columns it needs.
    List<CuteImport.Item> items = CuteImport.parse("spell.tsv", List.of("input1\tinput2\tinput3\tlabel", "the\t\t\tt h e"));
    assertTrue(items.get(0).agrees(), items.toString());
  }
}
