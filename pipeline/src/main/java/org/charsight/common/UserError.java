package org.charsight.common;

/**
 * A problem with the user's input or configuration, with a message they can act on.
 *
 * <p>The message is one line that names the file, path or conf key and what was expected
 * (for example {@code prepare: input path does not exist: data/x}). The CLI prints it as is and
 * exits non-zero; it is thrown on executors too, so it must survive Java serialization.
 */
public final class UserError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UserError(String message) {
    super(message);
  }

  public UserError(String message, Throwable cause) {
    super(message, cause);
  }

  /** The first UserError in a cause chain (Spark wraps task failures in SparkException). */
  public static UserError findIn(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UserError u) return u;
      if (c.getCause() == c) break;
    }
    return null;
  }
}
