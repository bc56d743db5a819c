package org.charsight.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.hadoop.fs.Path;
import org.charsight.common.StableHash;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where barrier workers exchange their vectors when every executor runs on the driver's machine: a
 * directory in RAM ({@link #MEMORY}), owned by the driver's process.
 *
 * <p>A run removes its files after every chunk, but a run killed mid-chunk cannot, and what it leaves is
 * memory taken from the machine until reboot: two rounds of every worker's vector (2 GB for
 * {@code conf/study.conf}'s model at two workers). So each directory is named after the process that owns
 * it, by pid and start time (a reused pid has another start time); every run removes the directories of
 * owners that are gone before it starts its own, and a driver stopped by a signal removes its own on the
 * way out.
 */
final class MemoryExchange {
  private MemoryExchange() {}

  private static final Logger LOG = LoggerFactory.getLogger(MemoryExchange.class);

  /** A RAM-backed file system. */
  static final java.nio.file.Path MEMORY = java.nio.file.Path.of("/dev/shm");

  static final String PREFIX = "charsight-averaging-";

  private static final AtomicBoolean HOOKED = new AtomicBoolean();

  /**
   * Where a chunk's workers exchange their vectors: {@code shared} (under the stage's output, which every
   * executor reaches), or, when every executor runs on this machine (a {@code local} or {@code local-cluster}
   * master), a directory on {@link #MEMORY} named after {@code shared} and this process, if it has room for
   * four times what two rounds leave there. Files on a disk cost a write-back: 22 MB written, renamed and
   * read back took 239 ms on one machine's disk and 24 ms on /dev/shm (docs/findings.md, 2026-12-04), and
   * each round moves about three vectors per worker. A container's /dev/shm is often 64 MB: then the disk it is.
   */
  static Path dir(String master, Path shared, long vectorBytes, int workers) {
    if (!master.startsWith("local") || !Files.isDirectory(MEMORY) || !Files.isWritable(MEMORY)) {
      return shared;
    }
    removeAbandoned(MEMORY);
    long usable;
    try {
      usable = Files.getFileStore(MEMORY).getUsableSpace();
    } catch (IOException e) {
      LOG.warn("parameter averaging: cannot tell how much room {} has ({}); the workers exchange under {}", MEMORY,
          e.getMessage(), shared);
      return shared;
    }
    // Two rounds of files stay until a worker removes them: each worker's vector and its slice of the mean.
    if (usable < 4 * 2 * workers * 2 * vectorBytes) return shared;
    if (HOOKED.compareAndSet(false, true)) {
      Runtime.getRuntime().addShutdownHook(new Thread(MemoryExchange::removeOwn, "charsight-exchange-cleanup"));
    }
    return new Path(MEMORY.toUri().toString(), name(Long.toHexString(StableHash.hash64(0, shared.toString())),
        ProcessHandle.current()));
  }

  /** The directory's name for output {@code key}, owned by {@code owner}. */
  static String name(String key, ProcessHandle owner) {
    return PREFIX + key + owner(owner);
  }

  /** How a directory's name ends for its owner: its pid and start time. */
  private static String owner(ProcessHandle p) {
    return "-" + p.pid() + "-" + started(p).orElse(0L);
  }

  /** When the process started, in milliseconds since the epoch, if this process may know. */
  private static Optional<Long> started(ProcessHandle p) {
    return p.info().startInstant().map(java.time.Instant::toEpochMilli);
  }

  /**
   * Removes the exchange directories under {@code memory} whose owner is no longer running; returns how many.
   * An owner this process may not inspect counts as running.
   */
  static int removeAbandoned(java.nio.file.Path memory) {
    int removed = 0;
    try (DirectoryStream<java.nio.file.Path> dirs = Files.newDirectoryStream(memory, PREFIX + "*")) {
      for (java.nio.file.Path d : dirs) {
        String[] f = d.getFileName().toString().substring(PREFIX.length()).split("-");
        if (f.length != 3 || running(f[1], f[2])) continue;
        removeTree(d);
        removed++;
      }
    } catch (IOException | UncheckedIOException e) {
      // Memory a dead run left is worth a warning, not a failed run.
      LOG.warn("parameter averaging: could not remove a killed run's exchange files in {}: {}", memory, e.getMessage());
    }
    return removed;
  }

  private static boolean running(String pid, String start) {
    long p, s;
    try {
      p = Long.parseLong(pid);
      s = Long.parseLong(start);
    } catch (NumberFormatException e) {
      return true; // not a name this class gave
    }
    return ProcessHandle.of(p).map(h -> started(h).map(t -> t == s).orElse(true)).orElse(false);
  }

  /** At exit: this process's own exchange directories (a run stopped by a signal did not remove them). */
  private static void removeOwn() {
    try (DirectoryStream<java.nio.file.Path> dirs = Files.newDirectoryStream(MEMORY, PREFIX + "*" + owner(ProcessHandle.current()))) {
      for (java.nio.file.Path d : dirs) removeTree(d);
    } catch (IOException | UncheckedIOException e) {
      System.err.println("charsight: could not remove the exchange files in " + MEMORY + ": " + e.getMessage());
    }
  }

  private static void removeTree(java.nio.file.Path d) throws IOException {
    try (Stream<java.nio.file.Path> all = Files.walk(d)) {
      for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
