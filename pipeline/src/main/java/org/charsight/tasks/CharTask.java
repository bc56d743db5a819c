package org.charsight.tasks;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.charsight.common.UserError;

/**
 * The character tasks: the published experiment's four and CUTE's character tasks. Each makes a
 * question about one word and its exact answer. Letters that a task asks about are drawn by the
 * task, from the word and from {@link #ALPHABET}, with the caller's seeded random source.
 *
 * <p>Phrasings are numbered; the stage splits them into training and held-out phrasings, so
 * evaluation also sees wordings the model never trained on.
 */
public enum CharTask {
  /** The word backwards. */
  REVERSE("reverse", List.of(
      "Spell \"%1$s\" backwards.",
      "What is \"%1$s\" written in reverse?",
      "Reverse the letters of \"%1$s\".",
      "Write the word \"%1$s\" from its last letter to its first.",
      "\"%1$s\" reversed is?",
      "Read \"%1$s\" right to left.")),
  /** How many times letter X occurs; X is absent about a third of the time. */
  COUNT("count", List.of(
      "How many times does the letter \"%2$s\" occur in \"%1$s\"?",
      "Count the letter \"%2$s\" in the word \"%1$s\".",
      "How many \"%2$s\" are in \"%1$s\"?",
      "In \"%1$s\", how often does \"%2$s\" appear?",
      "Number of \"%2$s\" letters in \"%1$s\"?")),
  /** 0-based index of the first occurrence of X, X present. */
  INDEX("index", List.of(
      "At which 0-based position does \"%2$s\" first occur in \"%1$s\"?",
      "Give the index (from 0) of the first \"%2$s\" in \"%1$s\".",
      "Where is the first \"%2$s\" in \"%1$s\", counting from 0?",
      "First position of the letter \"%2$s\" in \"%1$s\" (0-based)?",
      "In \"%1$s\", the first \"%2$s\" is at which index, starting at 0?")),
  /** Replace every X by Y (the published experiment's swap, with "every" made explicit). */
  SWAP("swap", List.of(
      "Replace every \"%2$s\" in \"%1$s\" with \"%3$s\".",
      "Write \"%1$s\" with each \"%2$s\" changed to \"%3$s\".",
      "Change all \"%2$s\" letters in \"%1$s\" into \"%3$s\".",
      "In \"%1$s\", swap every \"%2$s\" for \"%3$s\".",
      "Turn every \"%2$s\" of \"%1$s\" into \"%3$s\".")),
  /** The letters separated by spaces. */
  SPELL("spell", List.of(
      "Spell out the word \"%1$s\", putting spaces between each letter.",
      "Spell \"%1$s\" letter by letter.",
      "Write the letters of \"%1$s\" separated by spaces.",
      "How is \"%1$s\" spelled?",
      "Give the spelling of \"%1$s\" with a space between letters.")),
  /** Join a spaced spelling back into the word. */
  SPELL_INVERSE("spell_inverse", List.of(
      "Write the word that is spelled \"%4$s\".",
      "Join the letters \"%4$s\" into a word.",
      "Which word has the spelling \"%4$s\"?",
      "Remove the spaces from \"%4$s\".",
      "Put together the letters \"%4$s\".")),
  /** Is letter X in the word? yes or no, balanced. */
  CONTAINS_CHAR("contains_char", List.of(
      "Does \"%1$s\" contain the letter \"%2$s\"? Answer yes or no.",
      "Is there a \"%2$s\" in \"%1$s\"? Answer yes or no.",
      "Does the letter \"%2$s\" appear in \"%1$s\"? Answer yes or no.",
      "Yes or no: \"%1$s\" has a \"%2$s\".",
      "Is \"%2$s\" one of the letters of \"%1$s\"? Answer yes or no.")),
  /** Insert X after every Y. */
  INS_CHAR("ins_char", List.of(
      "Add \"%3$s\" after every \"%2$s\" in \"%1$s\".",
      "Insert the letter \"%3$s\" after each \"%2$s\" in \"%1$s\".",
      "Write \"%1$s\" with \"%3$s\" put after every \"%2$s\".",
      "After each \"%2$s\" in \"%1$s\", insert \"%3$s\".",
      "Put a \"%3$s\" behind every \"%2$s\" of \"%1$s\".")),
  /** Delete every X. */
  DEL_CHAR("del_char", List.of(
      "Delete every \"%2$s\" in \"%1$s\".",
      "Remove all \"%2$s\" letters from \"%1$s\".",
      "Write \"%1$s\" without any \"%2$s\".",
      "Drop each \"%2$s\" from \"%1$s\".",
      "What is \"%1$s\" with every \"%2$s\" taken out?")),
  /** Substitute every X by Y (CUTE's wording of the same operation as swap). */
  SUB_CHAR("sub_char", List.of(
      "Substitute \"%2$s\" with \"%3$s\" in \"%1$s\".",
      "Substitute every \"%2$s\" in \"%1$s\" by \"%3$s\".",
      "In \"%1$s\", substitute \"%3$s\" for each \"%2$s\".",
      "Make every \"%2$s\" in \"%1$s\" a \"%3$s\".",
      "Rewrite \"%1$s\" using \"%3$s\" wherever it has \"%2$s\".")),
  /** Swap the positions of two letters that each occur once. */
  SWAP_CHAR("swap_char", List.of(
      "Swap \"%2$s\" and \"%3$s\" in \"%1$s\".",
      "Exchange the positions of \"%2$s\" and \"%3$s\" in \"%1$s\".",
      "In \"%1$s\", switch the letters \"%2$s\" and \"%3$s\".",
      "Write \"%1$s\" with \"%2$s\" and \"%3$s\" trading places.",
      "Swap the places of \"%2$s\" and \"%3$s\" in the word \"%1$s\"."));

  public static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz";

  public final String confName;
  public final List<String> phrasings;

  CharTask(String confName, List<String> phrasings) {
    this.confName = confName;
    this.phrasings = phrasings;
  }

  /**
   * One question and its exact answer. {@code x} and {@code y} are the letters asked about ('\0'
   * if none): count/index/contains/delete x; replace x by y; insert y after every x; swap x and y.
   */
  public record Example(CharTask task, String word, char x, char y, int phrasing, String prompt, String answer)
      implements Serializable {}

  /**
   * @param rnd seeded per example from a well-mixed seed (e.g. a hash of seed, task and word):
   *     java.util.Random's first draws from consecutive seeds are correlated
   * @return the example, or empty when the word cannot carry this task (e.g. swap_char needs two
   *     letters that occur once each)
   */
  public Optional<Example> make(String word, int phrasing, Random rnd) {
    if (word.isEmpty()) return Optional.empty();
    String letters = distinct(word);
    char x = 0;
    char y = 0;
    switch (this) {
      case REVERSE, SPELL, SPELL_INVERSE -> { }
      case COUNT -> {
        // A third absent; otherwise a letter of the word, uniformly over its distinct letters,
        // so the most frequent letter is not a shortcut.
        String absent = without(ALPHABET, letters);
        x = rnd.nextInt(3) == 0 && !absent.isEmpty() ? pick(absent, rnd) : pick(letters, rnd);
      }
      case INDEX, DEL_CHAR -> x = pick(letters, rnd);
      case SWAP, SUB_CHAR -> {
        x = pick(letters, rnd);
        y = pick(without(ALPHABET, String.valueOf(x)), rnd);
      }
      case CONTAINS_CHAR -> {
        String absent = without(ALPHABET, letters);
        x = absent.isEmpty() || rnd.nextBoolean() ? pick(letters, rnd) : pick(absent, rnd);
      }
      case INS_CHAR -> {
        x = pick(letters, rnd);   // after every x ...
        y = pick(ALPHABET, rnd);  // ... insert y
      }
      case SWAP_CHAR -> {
        StringBuilder once = new StringBuilder();
        for (char c : letters.toCharArray()) if (count(word, c) == 1) once.append(c);
        if (once.length() < 2) return Optional.empty();
        int i = rnd.nextInt(once.length());
        int j = rnd.nextInt(once.length() - 1);
        if (j >= i) j++;
        x = once.charAt(i);
        y = once.charAt(j);
      }
      default -> throw new IllegalStateException(name());
    }
    return Optional.of(example(word, x, y, phrasing));
  }

  /**
   * The example for given letters: the task's rule applied exactly. Used by {@link #make} and to
   * read other benchmarks' items (CUTE), whose labels must then agree with it.
   *
   * @throws IllegalArgumentException if the letters do not fit the task (e.g. swap_char letters
   *     that do not occur exactly once)
   */
  public Example example(String word, char x, char y, int phrasing) {
    String answer = switch (this) {
      case REVERSE -> new StringBuilder(word).reverse().toString();
      case COUNT -> Integer.toString(count(word, x));
      case INDEX -> {
        if (word.indexOf(x) < 0) throw new IllegalArgumentException("index: '" + x + "' is not in " + word);
        yield Integer.toString(word.indexOf(x));
      }
      case SWAP, SUB_CHAR -> word.replace(x, y);
      case SPELL -> spaced(word);
      case SPELL_INVERSE -> word;
      case CONTAINS_CHAR -> word.indexOf(x) >= 0 ? "yes" : "no";
      case INS_CHAR -> {
        StringBuilder sb = new StringBuilder();
        for (char c : word.toCharArray()) {
          sb.append(c);
          if (c == x) sb.append(y);
        }
        yield sb.toString();
      }
      case DEL_CHAR -> word.replace(String.valueOf(x), "");
      case SWAP_CHAR -> {
        if (x == y || count(word, x) != 1 || count(word, y) != 1) {
          throw new IllegalArgumentException("swap_char: '" + x + "' and '" + y + "' must each occur once in " + word);
        }
        char[] cs = word.toCharArray();
        cs[word.indexOf(x)] = y;
        cs[word.indexOf(y)] = x;
        yield new String(cs);
      }
    };
    String prompt = String.format(phrasings.get(phrasing), word, String.valueOf(x), String.valueOf(y), spaced(word));
    return new Example(this, word, x, y, phrasing, prompt, answer);
  }

  public static CharTask parse(String key, String value) {
    for (CharTask t : values()) if (t.confName.equals(value)) return t;
    throw new UserError(key + ": unknown task '" + value + "'; expected one of "
        + String.join(", ", Arrays.stream(values()).map(t -> t.confName).toList()));
  }

  static String spaced(String word) {
    return String.join(" ", word.split(""));
  }

  static String distinct(String word) {
    StringBuilder sb = new StringBuilder();
    for (char c : word.toCharArray()) if (sb.indexOf(String.valueOf(c)) < 0) sb.append(c);
    return sb.toString();
  }

  static String without(String from, String remove) {
    StringBuilder sb = new StringBuilder();
    for (char c : from.toCharArray()) if (remove.indexOf(c) < 0) sb.append(c);
    return sb.toString();
  }

  static int count(String word, char c) {
    int n = 0;
    for (char w : word.toCharArray()) if (w == c) n++;
    return n;
  }

  private static char pick(String s, Random rnd) {
    return s.charAt(rnd.nextInt(s.length()));
  }
}
