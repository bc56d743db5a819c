package org.charsight.model;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;

/**
 * A {@link LanguageModel} zip on any Hadoop FileSystem. DL4J reads and writes local files only, so a
 * model goes through a local temporary copy; errors name the file on the FileSystem, never the copy.
 * Writes are verified: the bytes are read back from their final place and their SHA-256 compared.
 */
public final class ModelFiles {
  private ModelFiles() {}

  public static LanguageModel read(FileSystem fs, Path file) {
    File local = null;
    try {
      if (!fs.exists(file)) throw new UserError(file + ": model file not found");
      local = Files.createTempFile("charsight-model-", ".zip").toFile();
      fs.copyToLocalFile(false, file, new Path(local.toURI()), true);
      return LanguageModel.load(local);
    } catch (UserError e) {
      throw e.getMessage().startsWith(String.valueOf(local)) ? new UserError(file + e.getMessage().substring(
          String.valueOf(local).length()), e.getCause()) : e;
    } catch (IOException | RuntimeException e) {
      throw new UserError(file + ": not a readable charsight model (" + e + "); if a charsight stage wrote it, rerun that stage", e);
    } finally {
      if (local != null && !local.delete()) local.deleteOnExit();
    }
  }

  /**
   * Writes the model to {@code target} through a hidden sibling renamed into place, reads the
   * result back and checks it byte for byte (by SHA-256); returns that digest, in hex.
   */
  public static String write(FileSystem fs, Path target, LanguageModel m) {
    try {
      File local = Files.createTempFile("charsight-model-", ".zip").toFile();
      try {
        m.save(local);
        String written = sha256(FileSystem.getLocal(fs.getConf()), new Path(local.toURI()));
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
        Manifest.withoutChecksums(fs).copyFromLocalFile(false, true, new Path(local.toURI()), tmp);
        fs.delete(target, false);
        if (!fs.rename(tmp, target)) throw new IOException("rename " + tmp + " -> " + target + " returned false");
        String read = sha256(fs, target);
        if (!read.equals(written)) {
          throw new IOException(target + " reads back differently from what was written (SHA-256 " + read + ", not "
              + written + ")");
        }
        return written;
      } finally {
        Files.deleteIfExists(local.toPath());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target, e);
    }
  }

  public static String sha256(FileSystem fs, Path file) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = new DigestInputStream(fs.open(file), md)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
