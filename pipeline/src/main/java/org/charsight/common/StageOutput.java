package org.charsight.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

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

  /** The first directory above the target that this stage made, removed again if it fails; or null. */
  private final Path createdAncestor;

  private StageOutput(String stage, FileSystem fs, Path target, Path tmp, boolean overwrite, Path createdAncestor) {
    this.stage = stage;
    this.fs = fs;
    this.target = target;
    this.tmp = tmp;
    this.overwrite = overwrite;
    this.createdAncestor = createdAncestor;
  }

  public static StageOutput begin(String stage, String out, boolean overwrite, Configuration conf) {
    return begin(stage, out, overwrite, conf, List.of());
  }

  /**
   * @param inputs paths the stage reads: the output may be neither inside one (a later run would read
   *     its own output as input) nor hold one (--overwrite would delete it)
   */
  public static StageOutput begin(String stage, String out, boolean overwrite, Configuration conf, List<String> inputs) {
    try {
      Path target = new Path(out);
      FileSystem fs = target.getFileSystem(conf);
      target = fs.makeQualified(target);
      for (String in : inputs) {
        Path input = new Path(in);
        input = input.getFileSystem(conf).makeQualified(input);
        if (isWithin(target, input) || isWithin(input, target)) {
          throw new UserError(stage + ": --out " + out + " overlaps the input " + in
              + (isWithin(target, input) ? " (it would be read as input next time)" : " (it holds the input)")
              + "; write the output somewhere else");
        }
      }
      if (fs.exists(target) && !overwrite) {
        throw new UserError(stage + ": output already exists: " + out + " (pass --overwrite to replace it)");
      }
      Path parent = target.getParent();
      Path created = null;
      for (Path p = parent; p != null && !fs.exists(p); p = p.getParent()) created = p;
      if (parent != null) fs.mkdirs(parent);
      Path tmp = new Path(parent, "." + target.getName() + ".tmp-" + UUID.randomUUID());
      if (!fs.mkdirs(tmp)) throw new UserError(stage + ": cannot create a temporary directory next to " + out);
      return new StageOutput(stage, fs, target, tmp, overwrite, created);
    } catch (IOException e) {
      throw new UserError(stage + ": cannot prepare output " + out + ": " + e.getMessage(), e);
    }
  }

  /** Whether {@code p} is {@code dir} or lies below it. */
  static boolean isWithin(Path p, Path dir) {
    String a = p.toUri().normalize().toString().replaceAll("/+$", "");
    String b = dir.toUri().normalize().toString().replaceAll("/+$", "");
    return a.equals(b) || a.startsWith(b + "/");
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
      removeChecksumFiles();
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

  /**
   * Hadoop's local FileSystem writes a hidden {@code .<name>.crc} beside every file. Output folders
   * are read by people and other tools (a nanoGPT user copies {@code train.bin}), so none is kept;
   * Parquet carries its own checksums and every reader checks the content it expects.
   */
  private void removeChecksumFiles() throws IOException {
    if (!(fs instanceof LocalFileSystem local)) return;
    // The checksummed view hides the sidecars: list and delete them through the raw one.
    FileSystem raw = local.getRawFileSystem();
    RemoteIterator<LocatedFileStatus> files = raw.listFiles(tmp, true);
    List<Path> crc = new ArrayList<>();
    while (files.hasNext()) {
      Path p = files.next().getPath();
      if (p.getName().startsWith(".") && p.getName().endsWith(".crc")) crc.add(p);
    }
    for (Path p : crc) raw.delete(p, false);
  }

  @Override
  public void close() {
    if (committed) return;
    try {
      fs.delete(tmp, true);
      // Directories made for this output go too, unless something else was put in them meanwhile.
      if (createdAncestor != null) {
        for (Path p = tmp.getParent(); p != null && p.depth() >= createdAncestor.depth(); p = p.getParent()) {
          if (fs.listStatus(p).length > 0) break;
          fs.delete(p, false);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot remove temporary output " + tmp, e);
    }
  }
}
