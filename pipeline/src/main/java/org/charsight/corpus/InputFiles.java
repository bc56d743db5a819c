package org.charsight.corpus;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.charsight.common.UserError;

/**
 * Expands the user's input paths (files, directories, globs; any Hadoop FileSystem) into a sorted
 * list of files with their formats, and cuts them into read splits.
 */
public final class InputFiles {
  private InputFiles() {}

  /**
   * @param path the full path, for reading and messages
   * @param name the path relative to the input it was found under, starting with that input's own
   *     name (data/corpus/sotu/x.txt given as data/corpus is corpus/sotu/x.txt). Document ids are
   *     built from it, so moving a corpus (to another directory, to HDFS or S3) keeps its split and order.
   */
  public record InputFile(String path, String name, InputFormat format, long length, boolean compressed)
      implements Serializable {}

  /** A byte range of one file; compressed and text files are always read whole. */
  public record Split(InputFile file, long start, long end) implements Serializable {}

  public static List<InputFile> list(String stage, List<String> inputs, CorpusOptions opts, Configuration conf) {
    if (inputs.isEmpty()) throw new UserError(stage + ": no --input given");
    List<InputFile> files = new ArrayList<>();
    CompressionCodecFactory codecs = new CompressionCodecFactory(conf);
    for (String input : inputs) {
      int before = files.size();
      try {
        Path p = new Path(input);
        FileSystem fs = p.getFileSystem(conf);
        FileStatus[] matches = fs.globStatus(p);
        if (matches == null || matches.length == 0) {
          throw new UserError(stage + ": input path does not exist: " + input);
        }
        for (FileStatus m : matches) {
          if (m.isDirectory()) {
            for (FileStatus f : listRecursively(fs, m.getPath())) {
              if (!hidden(f.getPath(), m.getPath())) files.add(describe(stage, f, relativeName(m.getPath(), f.getPath()), opts, codecs));
            }
          } else {
            files.add(describe(stage, m, m.getPath().getName(), opts, codecs));
          }
        }
      } catch (IOException e) {
        throw new UserError(stage + ": cannot list input " + input + ": " + e.getMessage(), e);
      } catch (IllegalArgumentException e) {
        throw new UserError(stage + ": not a valid path: " + input + " (" + e.getMessage() + ")", e);
      }
      if (files.size() == before) throw new UserError(stage + ": no input files under " + input);
    }
    files.sort(Comparator.comparing(InputFile::path));
    List<InputFile> unique = new ArrayList<>();
    for (InputFile f : files) {
      if (unique.isEmpty() || !unique.get(unique.size() - 1).path().equals(f.path())) unique.add(f);
    }
    return unique;
  }

  /**
   * Object stores list a whole prefix in one call (listFiles); on the local file system that call
   * builds LocatedFileStatus objects, whose permission lookup forks a shell per file, so walk it
   * with plain listStatus instead.
   */
  private static List<FileStatus> listRecursively(FileSystem fs, Path dir) throws IOException {
    List<FileStatus> out = new ArrayList<>();
    if (!"file".equals(fs.getUri().getScheme())) {
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
      while (it.hasNext()) out.add(it.next());
      return out;
    }
    List<Path> todo = new ArrayList<>(List.of(dir));
    while (!todo.isEmpty()) {
      for (FileStatus s : fs.listStatus(todo.remove(todo.size() - 1))) {
        if (s.isDirectory()) todo.add(s.getPath());
        else out.add(s);
      }
    }
    return out;
  }

  private static boolean hidden(Path file, Path root) {
    // Like Hadoop's input formats: _SUCCESS, .crc and dot/underscore directories are not data.
    for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
      String n = p.getName();
      if (n.startsWith(".") || n.startsWith("_")) return true;
    }
    return false;
  }

  private static String relativeName(Path root, Path file) {
    String rel = root.toUri().relativize(file.toUri()).getPath();
    return root.getName() + "/" + rel;
  }

  private static InputFile describe(String stage, FileStatus f, String name, CorpusOptions opts,
      CompressionCodecFactory codecs) {
    String path = f.getPath().toString();
    InputFormat format = opts.format() != null ? opts.format() : InputFormat.fromFileName(f.getPath().getName());
    if (format == null) {
      throw new UserError(stage + ": cannot tell the format of " + path
          + " from its name (expected .txt, .jsonl, .json, .parquet, optionally .gz); set corpus.format to text, jsonl or parquet");
    }
    boolean compressed = codecs.getCodec(f.getPath()) != null;
    return new InputFile(path, name, format, f.getLen(), compressed);
  }

  /** Cuts uncompressed JSONL files larger than {@code splitBytes} into byte ranges. */
  public static List<Split> splits(List<InputFile> files, long splitBytes) {
    List<Split> out = new ArrayList<>();
    for (InputFile f : files) {
      if (f.format() == InputFormat.JSONL && !f.compressed() && f.length() > splitBytes) {
        for (long s = 0; s < f.length(); s += splitBytes) out.add(new Split(f, s, Math.min(f.length(), s + splitBytes)));
      } else {
        out.add(new Split(f, 0, f.length()));
      }
    }
    return out;
  }

  /**
   * Groups splits into at most {@code maxGroups} read tasks of roughly equal bytes, keeping the
   * sorted order inside each group (greedy: next split goes to the lightest group).
   */
  public static List<List<Split>> group(List<Split> splits, int groups) {
    int n = Math.max(1, Math.min(groups, splits.size()));
    List<List<Split>> out = new ArrayList<>();
    long[] load = new long[n];
    for (int i = 0; i < n; i++) out.add(new ArrayList<>());
    List<Split> bySize = new ArrayList<>(splits);
    bySize.sort(Comparator.comparingLong((Split s) -> s.end() - s.start()).reversed()
        .thenComparing(s -> s.file().path()).thenComparingLong(Split::start));
    for (Split s : bySize) {
      int best = 0;
      for (int i = 1; i < n; i++) if (load[i] < load[best]) best = i;
      out.get(best).add(s);
      load[best] += s.end() - s.start() + 1;
    }
    for (List<Split> g : out) g.sort(Comparator.comparing((Split s) -> s.file().path()).thenComparingLong(Split::start));
    out.removeIf(List::isEmpty);
    return out;
  }
}
