package org.charsight.tokenize;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.charsight.common.UserError;

/**
 * The regex that cuts text into chunks before BPE, so merges never cross word boundaries. Training
 * and encoding must use the same one: {@link #compile} is the only place a pattern is compiled.
 */
public final class PreSplit {
  /** GPT-2's pattern (tiktoken r50k_base). */
  public static final String GPT2 =
      "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  /** GPT-4's pattern (tiktoken cl100k_base): case-insensitive contractions, numbers in groups of 3. */
  public static final String GPT4 =
      "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";

  private PreSplit() {}

  /** Resolves a conf value: {@code gpt2}, {@code gpt4}, or a regex of the user's own. */
  public static String resolve(String key, String value) {
    String regex = switch (value) {
      case "gpt2" -> GPT2;
      case "gpt4" -> GPT4;
      default -> value;
    };
    try {
      compile(regex);
    } catch (PatternSyntaxException e) {
      throw new UserError(key + ": not gpt2, gpt4 or a valid regex: " + e.getDescription() + " near index " + e.getIndex());
    }
    return regex;
  }

  /** Unicode-aware classes (\s, \w) like tiktoken's regex engine; the same flags JTokkit uses. */
  public static Pattern compile(String regex) {
    return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
  }
}
