package org.charsight.tokenize;

import java.io.IOException;
import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
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

  /**
   * A serializable reference to a tokenizer. A trained tokenizer travels with its files, so
   * executors need no access to the path the driver read it from.
   */
  public record Spec(String value, TrainedTokenizer.Files files) implements Serializable {
    public Spec(String builtIn) {
      this(builtIn, null);
    }

    public Tokenizer open() {
      return OPEN.computeIfAbsent(this, Tokenizers::create);
    }
  }

  /** Checks the value on the driver, so a typo fails before any Spark work starts. */
  public static Spec parse(String key, String value) {
    return parse(key, value, new Configuration());
  }

  /**
   * @param value gpt2, bytes, or a train-tokenizer output directory on any Hadoop file system
   */
  public static Spec parse(String key, String value, Configuration conf) {
    Spec spec = value.equals("gpt2") || value.equals("bytes") ? new Spec(value) : trained(key, value, conf);
    try {
      spec.open();
    } catch (UserError e) {
      throw new UserError(key + ": " + e.getMessage(), e);
    }
    return spec;
  }

  private static Spec trained(String key, String dir, Configuration conf) {
    Path p = new Path(dir);
    String qualified;
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(new Path(p, TrainedTokenizer.INFO_FILE))) {
        throw new UserError(key + ": unknown tokenizer '" + dir
            + "'; expected gpt2, bytes or the output directory of train-tokenizer");
      }
      // Manifests record it and later stages open it again, perhaps from another working directory.
      qualified = fs.makeQualified(p).toString();
    } catch (IOException | IllegalArgumentException e) {
      throw new UserError(key + ": cannot read tokenizer '" + dir + "': " + e.getMessage(), e);
    }
    return new Spec(qualified, TrainedTokenizer.Files.read(dir, conf));
  }

  private static Tokenizer create(Spec spec) {
    if (spec.files() != null) return TrainedTokenizer.of(spec.files());
    return switch (spec.value()) {
      case "gpt2" -> new Gpt2Tokenizer();
      case "bytes" -> new ByteTokenizer();
      default -> throw new UserError("unknown tokenizer '" + spec.value()
          + "'; expected gpt2, bytes or the output directory of train-tokenizer");
    };
  }
}
