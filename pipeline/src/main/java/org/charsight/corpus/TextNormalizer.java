package org.charsight.corpus;

import java.text.Normalizer;

/**
 * NFC, and no control characters except newline and tab.
 *
 * <p>NFC makes "é" one code point however the source spelled it, so one word has one byte
 * sequence and one spelling for the character tasks. Carriage returns, NULs and other C0/C1
 * controls carry no text and would become odd tokens, so they go (CRLF becomes LF).
 */
public final class TextNormalizer {
  private TextNormalizer() {}

  public static String normalize(String s) {
    String nfc = Normalizer.isNormalized(s, Normalizer.Form.NFC) ? s : Normalizer.normalize(s, Normalizer.Form.NFC);
    StringBuilder out = null;
    for (int i = 0; i < nfc.length(); i++) {
      char c = nfc.charAt(i);
      boolean drop = Character.getType(c) == Character.CONTROL && c != '\n' && c != '\t';
      if (drop && out == null) {
        out = new StringBuilder(nfc.length());
        out.append(nfc, 0, i);
      } else if (!drop && out != null) {
        out.append(c);
      }
    }
    return out == null ? nfc : out.toString();
  }
}
