package org.charsight.tokenize;

import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.charsight.common.UserError;

/**
 * Names a tokenizer in a form that can be shipped to executors, and opens it there once per JVM.
 *
 * <p>{@code gpt2} and {@code bytes} are built in; anything else must be the output directory of
 * {@code train-tokenizer}.
 */
public final class Tokenizers {
  private static final Map<Spec, Tokenizer> OPEN = new ConcurrentHashMap<>();

  private Tokenizers() {}

  /** A serializable reference to a tokenizer. */
  public record Spec(String value) implements Serializable {
    public Tokenizer open() {
      return OPEN.computeIfAbsent(this, Tokenizers::create);
    }
  }

  /** Checks the value on the driver, so a typo fails before any Spark work starts. */
  public static Spec parse(String key, String value) {
    Spec spec = new Spec(value);
    try {
      spec.open();
    } catch (UserError e) {
      throw new UserError(key + ": " + e.getMessage(), e);
    }
    return spec;
  }

  private static Tokenizer create(Spec spec) {
    return switch (spec.value()) {
      case "gpt2" -> new Gpt2Tokenizer();
      case "bytes" -> new ByteTokenizer();
      default -> throw new UserError("unknown tokenizer '" + spec.value()
          + "'; expected gpt2, bytes or the output directory of train-tokenizer");
    };
  }
}
