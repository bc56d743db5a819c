package org.charsight.eval;

import java.io.Serializable;
import org.charsight.common.UserError;

/** One paired comparison of evaluate.contrasts, written {@code "<arm> - <reference>"}: arm's accuracy minus reference's. */
public record Contrast(String arm, String reference) implements Serializable {

  public static Contrast parse(String key, String text) {
    String[] parts = text.split(" - ", -1);
    if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank() || parts[0].strip().equals(parts[1].strip())) {
      throw new UserError(key + ": expected \"<arm> - <other arm>\" (e.g. \"char - char-shuffled\"), got '" + text + "'");
    }
    return new Contrast(parts[0].strip(), parts[1].strip());
  }

  @Override
  public String toString() {
    return arm + " - " + reference;
  }
}
