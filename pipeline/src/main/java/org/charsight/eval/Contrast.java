package org.charsight.eval;

import java.io.Serializable;
import org.charsight.common.UserError;
import org.charsight.model.Arch;

/**
 * One paired comparison of evaluate.contrasts, written {@code "<arm> - <reference>"}: arm's accuracy minus reference's.
 * Both names must be arms charsight has (a misspelt one is an error, not an empty table); a contrast naming an
 * arm the run does not have gives no rows, so one default list serves every experiment.
 */
public record Contrast(String arm, String reference) implements Serializable {

  public static Contrast parse(String key, String text) {
    String[] parts = text.split(" - ", -1);
    if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank() || parts[0].strip().equals(parts[1].strip())) {
      throw new UserError(key + ": expected \"<arm> - <other arm>\" (e.g. \"char - char-shuffled\"), got '" + text + "'");
    }
    String arm = parts[0].strip();
    String reference = parts[1].strip();
    Arch.parse(key + " '" + text + "'", arm);
    Arch.parse(key + " '" + text + "'", reference);
    return new Contrast(arm, reference);
  }

  @Override
  public String toString() {
    return arm + " - " + reference;
  }
}
