package org.charsight.common;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Small files (metrics, positions, records) replaced whole: the bytes go to a hidden sibling and
 * are renamed over the target, so a reader or a crash sees the old file or the new one, never a
 * half-written one. (On object stores rename is a copy; these files are small.)
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  public static void write(FileSystem fs, Path target, byte[] content) throws IOException {
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
    fs.mkdirs(target.getParent());
    try (OutputStream os = fs.create(tmp, true)) {
      os.write(content);
    }
    fs.delete(target, false);
    if (!fs.rename(tmp, target)) throw new IOException("rename " + tmp + " -> " + target + " returned false");
  }
}
