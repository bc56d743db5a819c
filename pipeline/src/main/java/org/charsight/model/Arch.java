package org.charsight.model;

import org.charsight.common.UserError;

/** The model arms compared by the study. */
public enum Arch {
  /** Token + position embedding, decoder blocks, output layer. */
  BASELINE("baseline"),
  /** Baseline plus a per-token byte LSTM embedding (the published experiment's idea). */
  CHAR("char"),
  /** Baseline plus a second narrow token table and projection, sized to match char's parameters. */
  BASELINE_MATCHED("baseline-matched"),
  /** The char arm reading another token's bytes under a fixed permutation: same size, no spelling. */
  CHAR_SHUFFLED("char-shuffled"),
  /** The baseline on the bytes tokenizer: a tokenizer-free arm. */
  BYTE("byte");

  public final String confName;

  Arch(String confName) {
    this.confName = confName;
  }

  public boolean readsBytes() {
    return this == CHAR || this == CHAR_SHUFFLED;
  }

  public static Arch parse(String key, String value) {
    for (Arch a : values()) if (a.confName.equals(value)) return a;
    throw new UserError(key + ": expected one of baseline, char, baseline-matched, char-shuffled, byte, got '"
        + value + "'");
  }
}
