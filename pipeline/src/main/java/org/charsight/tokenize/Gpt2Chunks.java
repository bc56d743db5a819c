package org.charsight.tokenize;

/**
 * GPT-2's pre-split ({@link PreSplit#GPT2}) as a scanner: the same chunks as the regex, found by
 * looking at each code point's class once. Java's regex engine spends about 40% of JTokkit's
 * encoding time trying the pattern's six alternatives at every chunk start; this is several times
 * faster. {@code Gpt2ChunksTest} checks it against the regex on every code point class and on
 * random text.
 *
 * <p>The pattern, alternative by alternative, and how each is decided here:
 * <pre>
 *   '(?:[sdmt]|ll|ve|re)        an ASCII apostrophe and one of the six suffixes
 *   | ?\p{L}+                  an optional space, then letters
 *   | ?\p{N}+                  an optional space, then numbers
 *   | ?[^\s\p{L}\p{N}]+        an optional space, then anything else (punctuation, symbols, marks)
 *   |\s+(?!\S)                 whitespace not followed by a non-space: all of a run at the end of
 *                              the text, else all but its last character
 *   |\s+                       what is left: a lone whitespace character before a non-space
 * </pre>
 * With {@code UNICODE_CHARACTER_CLASS} (how JTokkit compiles it), {@code \s} is Unicode White_Space.
 */
final class Gpt2Chunks {
  private static final int LETTER = 1;
  private static final int NUMBER = 2;
  private static final int SPACE = 3;
  private static final int OTHER = 4;

  private Gpt2Chunks() {}

  /** The end (exclusive) of the chunk that starts at {@code start < text.length()}. */
  static int end(String text, int start) {
    int n = text.length();
    int c = text.codePointAt(start);
    if (c == '\'' && start + 1 < n) {
      int suffix = contraction(text, start + 1, n);
      if (suffix > 0) return start + 1 + suffix;
    }
    int i = start;
    if (c == ' ' && start + 1 < n) {
      int next = kind(text.codePointAt(start + 1));
      // " x": the space joins the run that follows, unless that run is whitespace.
      if (next != SPACE) return run(text, start + 1, n, next);
    }
    int k = kind(c);
    if (k != SPACE) return run(text, i, n, k);
    int e = run(text, i, n, SPACE);
    if (e == n || e - i == 1) return e;
    // A run of two or more before a non-space leaves its last character to that non-space's chunk.
    return e - Character.charCount(text.codePointBefore(e));
  }

  /** Length of 's 'd 'm 't 'll 've 're after the apostrophe at {@code from - 1}, or 0. */
  private static int contraction(String s, int from, int n) {
    char a = s.charAt(from);
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return 1;
    if (from + 1 < n) {
      char b = s.charAt(from + 1);
      if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return 2;
    }
    return 0;
  }

  private static int run(String s, int from, int n, int kind) {
    int i = from;
    while (i < n) {
      int c = s.codePointAt(i);
      if (kind(c) != kind) break;
      i += Character.charCount(c);
    }
    return i;
  }

  static int kind(int c) {
    if (c < 0x80) {
      // The ASCII fast path; the Unicode rules below give the same answers.
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return LETTER;
      if (c >= '0' && c <= '9') return NUMBER;
      if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return SPACE;
      return OTHER;
    }
    int type = Character.getType(c);
    switch (type) {
      case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER, Character.MODIFIER_LETTER,
          Character.OTHER_LETTER:
        return LETTER;
      case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
        return NUMBER;
      case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR:
        return SPACE;
      default:
        return c == 0x85 ? SPACE : OTHER;
    }
  }
}
