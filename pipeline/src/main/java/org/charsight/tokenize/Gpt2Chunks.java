package org.charsight.tokenize;

/**
 * GPT-2's pre-split ({@link PreSplit#GPT2}) as a scanner: the same chunks as the regex, found by
 * looking at each code point's class once. Java's regex engine spends about 40% of JTokkit's
 * encoding time trying the pattern's six alternatives at every chunk start; this is several times
 * faster. {@code FastEncodingTest} checks it against the regex on every code point class and on
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

  /** The kind of each ASCII character: most text is ASCII, and this skips {@link Character#getType}. */
  private static final byte[] ASCII = new byte[128];

  static {
    for (int c = 0; c < 128; c++) ASCII[c] = (byte) unicodeKind(c);
  }

  private Gpt2Chunks() {}

  /** The end (exclusive) of the chunk of {@code text[0, n)} that starts at {@code start < n}. */
  static int end(char[] text, int start, int n) {
    int c = Character.codePointAt(text, start, n);
    if (c == '\'' && start + 1 < n) {
      int suffix = contraction(text, start + 1, n);
      if (suffix > 0) return start + 1 + suffix;
    }
    if (c == ' ' && start + 1 < n) {
      int next = kind(Character.codePointAt(text, start + 1, n));
      // " x": the space joins the run that follows, unless that run is whitespace.
      if (next != SPACE) return run(text, start + 1, n, next);
    }
    int k = kind(c);
    if (k != SPACE) return run(text, start, n, k);
    int e = run(text, start, n, SPACE);
    if (e == n || e - start == 1) return e;
    // A run of two or more before a non-space leaves its last character to that non-space's chunk
    // (every White_Space character is in the BMP: one char).
    return e - 1;
  }

  /** Length of 's 'd 'm 't 'll 've 're after the apostrophe at {@code from - 1}, or 0. */
  private static int contraction(char[] s, int from, int n) {
    char a = s[from];
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return 1;
    if (from + 1 < n) {
      char b = s[from + 1];
      if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return 2;
    }
    return 0;
  }

  private static int run(char[] s, int from, int n, int kind) {
    int i = from;
    while (i < n) {
      char ch = s[i];
      if (ch < 0x80) {
        if (ASCII[ch] != kind) break;
        i++;
      } else {
        int c = Character.codePointAt(s, i, n);
        if (kind(c) != kind) break;
        i += Character.charCount(c);
      }
    }
    return i;
  }

  static int kind(int c) {
    return c < 0x80 ? ASCII[c] : unicodeKind(c);
  }

  private static int unicodeKind(int c) {
    switch (Character.getType(c)) {
      case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER, Character.MODIFIER_LETTER,
          Character.OTHER_LETTER:
        return LETTER;
      case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
        return NUMBER;
      case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR:
        return SPACE;
      default:
        // \s under UNICODE_CHARACTER_CLASS: the separators above, TAB..CR and NEL.
        return (c >= 0x09 && c <= 0x0d) || c == 0x85 ? SPACE : OTHER;
    }
  }
}
