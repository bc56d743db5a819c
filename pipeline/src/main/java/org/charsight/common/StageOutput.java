package org.charsight.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A stage's output directory, written to a hidden sibling and renamed into place only on success.
 *
 * <p>Works on any Hadoop FileSystem (local, HDFS, S3A). A failed or interrupted stage leaves no
 * partial output under the final name: {@link #close()} deletes the temporary directory unless
 * {@link #commit()} ran. An existing output is replaced only when the user asked for it.
 */
public final class StageOutput implements AutoCloseable {
  private final String stage;
  private final FileSystem fs;
  private final Path target;
  private final Path tmp;
  private final boolean overwrite;
  private boolean committed;

  private StageOutput(String stage, FileSystem fs, Path target, Path tmp, boolean overwrite) {
    this.stage = stage;
    this.fs = fs;
    this.target = target;
    this.tmp = tmp;
    this.overwrite = overwrite;
  }

  public static StageOutput begin(String stage, String out, boolean overwrite, Configuration conf) {
    try {
      Path target = new Path(out);
      FileSystem fs = target.getFileSystem(conf);
      target = fs.makeQualified(target);
      if (fs.exists(target) && !overwrite) {
        throw new UserError(stage + ": output already exists: " + out + " (pass --overwrite to replace it)");
      }
      Path parent = target.getParent();
      if (parent != null) fs.mkdirs(parent);
      Path tmp = new Path(parent, "." + target.getName() + ".tmp-" + UUID.randomUUID());
      if (!fs.mkdirs(tmp)) throw new UserError(stage + ": cannot create a temporary directory next to " + out);
      return new StageOutput(stage, fs, target, tmp, overwrite);
    } catch (IOException e) {
      throw new UserError(stage + ": cannot prepare output " + out + ": " + e.getMessage(), e);
    }
  }

  /** Where the stage writes; a Hadoop path string usable by Spark writers. */
  public Path dir() {
    return tmp;
  }

  public Path resolve(String child) {
    return new Path(tmp, child);
  }

  public Path target() {
    return target;
  }

  public FileSystem fs() {
    return fs;
  }

  public void commit() {
    try {
      if (fs.exists(target)) {
        if (!overwrite) throw new UserError(stage + ": output appeared while running: " + target);
        fs.delete(target, true);
      }
      if (!fs.rename(tmp, target)) {
        throw new IOException("rename " + tmp + " -> " + target + " returned false");
      }
      committed = true;
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot commit output " + target, e);
    }
  }

  @Override
  public void close() {
    if (committed) return;
    try {
      fs.delete(tmp, true);
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot remove temporary output " + tmp, e);
    }
  }
}
