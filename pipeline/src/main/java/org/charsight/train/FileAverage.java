package org.charsight.train;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;

/**
 * The mean of one float vector per task of a barrier stage, through files in a directory every task
 * can reach (the stage's output directory: local, HDFS or S3). A reduce-scatter then an all-gather:
 * each task writes its vector, averages its own 1/n slice of everyone's, writes that slice, and reads
 * the n slices back. A task moves about three times its vector whatever n is, where reading every
 * other task's whole vector would move n times it.
 *
 * <p>Tasks wait for each other by watching for the files (written under a temporary name, then
 * renamed), not with {@code BarrierTaskContext.barrier()}: Spark 3.5 polls that call's answer once a
 * second, which made every round last two seconds. The barrier stage still starts all tasks at once,
 * and kills the others when one fails; a waiting task notices (it checks for being killed).
 *
 * <p>The sum runs over the tasks in task order, starting from the first contributor's values, then is
 * divided by the number of contributors: for two tasks that is bit for bit DL4J's driver-side mean
 * (float addition commutes), which the pretraining results rely on.
 */
final class FileAverage {
  /**
   * Byte order of the files: the machine's, so that ND4J's buffers go to and from them without
   * conversion (every executor of a cluster runs on the same architecture).
   */
  static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** A task's file starts with whether it contributes (it had minibatches this round) and its last loss. */
  private static final int HEADER = Integer.BYTES + Double.BYTES;

  private final Store store;
  private final Path dir;
  private final int me;
  private final int tasks;
  /** Time spent waiting for other tasks' files, in nanoseconds, over all rounds so far. */
  long waitedNanos;
  /**
   * Time spent on each part of the exchange other than waiting, in nanoseconds over all rounds so far,
   * indexed by {@link Part}: where a round's time outside {@code fit} goes on a given file system.
   */
  final long[] partNanos = new long[Part.values().length];

  /** The parts of a round's exchange, in the order a task does them. */
  enum Part {
    /** Writing this task's whole vector. */
    WRITE,
    /** Reading this task's slice of every contributor's vector, summing and dividing. */
    SLICES,
    /** Writing the mean of this task's slice. */
    MEAN,
    /** Reading every task's mean slice back, and retiring this task's files of two rounds back. */
    GATHER
  }

  FileAverage(Store store, Path dir, int me, int tasks) {
    this.store = store;
    this.dir = dir;
    this.me = me;
    this.tasks = tasks;
  }

  /** What the contributing tasks had in common this round: how many they were and their mean loss. */
  record Mean(int contributors, double score) {}

  /**
   * Replaces the vector held by {@code parts} (float bytes in native order, one after another: the
   * parameters, then the Adam state) by the contributors' mean; left as it is when no task
   * contributed. Every round has its own directory; a task retires its files of two rounds back,
   * which every task has read by the time it has this round's means: the local store writes the task's
   * next files into them, others remove them.
   */
  Mean average(TaskContext ctx, int round, ByteBuffer[] parts, boolean contributes, double score) {
    Path here = new Path(dir, "round-" + round);
    long n = 0;
    for (ByteBuffer p : parts) n += p.limit() / Float.BYTES;
    ByteBuffer head = ByteBuffer.allocate(HEADER).order(ORDER).putInt(contributes ? 1 : 0).putDouble(score).flip();
    ByteBuffer[] full = new ByteBuffer[parts.length + 1];
    full[0] = head;
    for (int i = 0; i < parts.length; i++) full[i + 1] = parts[i].duplicate().rewind();
    long t = System.nanoTime();
    publish(here, "full-", spare("full-"), full);
    t = lap(Part.WRITE, t);
    await(ctx, here, "full-");
    t = System.nanoTime();

    long lo = bound(me, tasks, n), hi = bound(me + 1, tasks, n);
    if (sum == null) {
      sum = new float[(int) (hi - lo)];
      slice = ByteBuffer.allocate(Float.BYTES * sum.length).order(ORDER);
    }
    int count = 0;
    double scores = 0;
    for (int k = 0; k < tasks; k++) {
      if (!add(new Path(here, "full-" + k), lo, sum, count == 0)) continue;
      scores += header.getDouble(Integer.BYTES);
      count++;
    }
    if (count == 0) {
      lap(Part.SLICES, t);
      return new Mean(0, 0);
    }
    for (int i = 0; i < sum.length; i++) sum[i] /= count;
    slice.clear().asFloatBuffer().put(sum);
    t = lap(Part.SLICES, t);
    publish(here, "mean-", spare("mean-"), slice.clear());
    lap(Part.MEAN, t);
    await(ctx, here, "mean-");

    t = System.nanoTime();
    readMean(store, here, tasks, parts);
    if (round >= 2) {
      Path old = new Path(dir, "round-" + (round - 2));
      store.retire(new Path(old, "full-" + me), spare("full-"));
      store.retire(new Path(old, "mean-" + me), spare("mean-"));
    }
    lap(Part.GATHER, t);
    return new Mean(count, scores / count);
  }

  /**
   * Adds floats [lo, lo + sum.length) of a task's vector file into {@code sum} ({@code first}: copies them),
   * a chunk at a time, so that what is read is still in the cache when it is added; false, and nothing
   * added, when the file's header (left in {@link #header}) says the task did not contribute. One open a
   * file: on a cluster's file system each open is a request.
   */
  private boolean add(Path file, long lo, float[] sum, boolean first) {
    int[] at = {0};
    return store.scan(file, header.clear(), h -> h.getInt(0) != 0, HEADER + Float.BYTES * lo,
        Float.BYTES * (long) sum.length, chunk(), c -> {
          FloatBuffer theirs = c.asFloatBuffer();
          int m = theirs.remaining(), from = at[0];
          if (first) {
            theirs.get(sum, from, m);
          } else {
            theirs.get(scratch, 0, m);
            for (int i = 0; i < m; i++) sum[from + i] += scratch[i];
          }
          at[0] += m;
        });
  }

  /** The header of the file being summed. */
  private final ByteBuffer header = ByteBuffer.allocate(HEADER).order(ORDER);

  /** This task's slice of the sum, and its mean as bytes: the same length every round, so allocated once. */
  private float[] sum;
  private ByteBuffer slice;

  /** Bytes read at a time when summing slices: with their floats, well inside a core's L2 cache. */
  private static final int CHUNK_BYTES = 128 << 10;
  private ByteBuffer chunk;
  private final float[] scratch = new float[CHUNK_BYTES / Float.BYTES];

  private ByteBuffer chunk() {
    if (chunk == null) chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ORDER);
    return chunk;
  }

  /** Adds the time since {@code start} to {@code part}; returns now. */
  private long lap(Part part, long start) {
    long now = System.nanoTime();
    partNanos[part.ordinal()] += now - start;
    return now;
  }

  /** Where round {@code round}'s files are: its mean stays there until a later round with contributors. */
  Path roundDir(int round) {
    return new Path(dir, "round-" + round);
  }

  /**
   * Reads the mean a round of {@code tasks} tasks left in {@code roundDir} (its slices, in task order)
   * into {@code parts}: each task's all-gather, and the driver's read of a chunk's last mean.
   */
  static void readMean(Store store, Path roundDir, int tasks, ByteBuffer[] parts) {
    long n = 0;
    for (ByteBuffer p : parts) n += p.limit() / Float.BYTES;
    for (int t = 0; t < tasks; t++) {
      readInto(store, parts, new Path(roundDir, "mean-" + t), bound(t, tasks, n), bound(t + 1, tasks, n));
    }
  }

  /** Reads a file holding floats [from, to) of the vector straight into the parts that hold them. */
  private static void readInto(Store store, ByteBuffer[] parts, Path file, long from, long to) {
    long start = 0;
    for (ByteBuffer p : parts) {
      long end = start + p.limit() / Float.BYTES;
      long a = Math.max(from, start), b = Math.min(to, end);
      if (a < b) {
        ByteBuffer dst = p.duplicate().limit((int) ((b - start) * Float.BYTES)).position((int) ((a - start) * Float.BYTES));
        store.read(file, (a - from) * Float.BYTES, dst);
      }
      start = end;
    }
  }

  /** Waits until every task's file with this prefix exists, checking more slowly the longer it waits. */
  private void await(TaskContext ctx, Path here, String prefix) {
    long start = System.nanoTime();
    try {
      awaitFiles(ctx, here, prefix, start, WAIT_LIMIT_NANOS, "; its task must have stopped");
    } finally {
      waitedNanos += System.nanoTime() - start;
    }
  }

  /**
   * Before any training: every task says hello and waits for the others' hellos. Barrier tasks start
   * together, so a missing hello means the tasks do not share the directory (an output on each
   * executor's own disk): an error in seconds instead of a round that never ends.
   */
  void hello(TaskContext ctx, long limitNanos) {
    Path here = new Path(dir, "hello");
    publish(here, "task-", null, ByteBuffer.allocate(0));
    awaitFiles(ctx, here, "task-", System.nanoTime(), limitNanos, "; the executors do not share " + dir
        + " (pretrain --out must be on a file system every executor reaches: HDFS, S3, a shared volume;"
        + " or set pretrain.averaging = dl4j)");
  }

  private void awaitFiles(TaskContext ctx, Path here, String prefix, long start, long limitNanos, String why) {
    long sleepMs = 1;
    for (int t = 0; t < tasks; t++) {
      Path file = new Path(here, prefix + t);
      try {
        while (!store.exists(file)) {
          ctx.killTaskIfInterrupted();
          if (System.nanoTime() - start > limitNanos) {
            throw new IllegalStateException("parameter averaging: task " + me + " waited "
                + limitNanos / 1_000_000_000L + " s for " + file + why);
          }
          Thread.sleep(sleepMs);
          sleepMs = Math.min(store.pollMs(), sleepMs * 2);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ctx.killTaskIfInterrupted();
        throw new IllegalStateException("parameter averaging: interrupted waiting for " + file, e);
      }
    }
  }

  /** Longer than any round's fitting; Spark kills a stage's other tasks when one fails, so this is a last resort. */
  private static final long WAIT_LIMIT_NANOS = 30L * 60 * 1_000_000_000L;

  /** Where task {@code t}'s slice starts: slices differ in length by at most one element. */
  private static long bound(int t, int tasks, long length) {
    return length * t / tasks;
  }

  /** Publishes this task's file of this kind in {@code here}, written into {@code spare} where the store keeps one. */
  private void publish(Path here, String prefix, Path spare, ByteBuffer... bytes) {
    store.publish(new Path(here, prefix + me), new Path(here, "." + prefix + me + ".tmp"), spare, bytes);
  }

  /** Where this task keeps a file of this kind that no task reads any more, to write the next one into. */
  private Path spare(String prefix) {
    return new Path(dir, ".spare-" + prefix + me);
  }

  /**
   * Where the files go. Hadoop's FileSystem for HDFS, S3 and the like; java.nio for local paths, since
   * Hadoop's local file system sets permissions on every file it creates (by running chmod when
   * Hadoop's native library is absent), which took 5-20 ms a file against 2 ms for the bytes.
   */
  abstract static class Store {
    /** The longest pause between two looks for a file: a look costs a system call here, a request to a server there. */
    abstract long pollMs();

    /**
     * Writes {@code file} under the temporary name {@code tmp} and renames it: whoever sees the file sees all of it.
     * Where the store keeps retired files, it writes into {@code spare} (null: none) when there is one.
     */
    abstract void publish(Path file, Path tmp, Path spare, ByteBuffer... bytes);

    /** Done with {@code file}: no task reads it any more. Removed, or kept as {@code spare} for a later publish. */
    abstract void retire(Path file, Path spare);

    abstract boolean exists(Path file);

    /** Fills {@code into} (from its position to its limit) with the file's bytes from {@code position}. */
    abstract void read(Path file, long position, ByteBuffer into);

    /**
     * Reads the file's first bytes into {@code header} (filled to its limit, then flipped) and, if {@code wanted}
     * accepts them, its {@code length} bytes from {@code position} through {@code chunk}, with the file open
     * once: {@code each} gets the chunk filled (from 0, whole chunks but the last), in order. Whether it read them.
     */
    abstract boolean scan(Path file, ByteBuffer header, java.util.function.Predicate<ByteBuffer> wanted, long position,
        long length, ByteBuffer chunk, java.util.function.Consumer<ByteBuffer> each);

    static Store open(Path dir, Configuration hadoop) {
      try {
        FileSystem fs = dir.getFileSystem(hadoop);
        return fs.getScheme().equals("file") ? new Local() : new Hadoop(fs);
      } catch (IOException e) {
        throw new UncheckedIOException("parameter averaging: cannot open " + dir, e);
      }
    }

    static UncheckedIOException failed(String what, Path file, IOException e) {
      return new UncheckedIOException("parameter averaging: cannot " + what + " " + file, e);
    }
  }

  static final class Local extends Store {
    @Override
    long pollMs() {
      return 1;
    }

    private static java.nio.file.Path local(Path p) {
      return java.nio.file.Path.of(p.toUri().getPath());
    }

    /**
     * Writing into a spare file reuses its pages: on tmpfs a new file's pages are allocated and zeroed as it
     * is written, and freed when it is removed, every round.
     */
    @Override
    void publish(Path file, Path tmp, Path spare, ByteBuffer... bytes) {
      try {
        Files.createDirectories(local(file).getParent());
        if (spare != null && Files.exists(local(spare))) Files.move(local(spare), local(tmp), StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel ch = FileChannel.open(local(tmp), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          long length = 0;
          for (ByteBuffer b : bytes) length += b.remaining();
          for (long left = length; left > 0; ) left -= ch.write(bytes);
          ch.truncate(length);
        }
        Files.move(local(tmp), local(file), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw failed("write", file, e);
      }
    }

    /** A round without contributors wrote no mean: its file is not there to retire. */
    @Override
    void retire(Path file, Path spare) {
      try {
        if (Files.exists(local(file))) Files.move(local(file), local(spare), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw failed("retire", file, e);
      }
    }

    @Override
    boolean exists(Path file) {
      return Files.exists(local(file));
    }

    @Override
    void read(Path file, long position, ByteBuffer into) {
      try (FileChannel ch = FileChannel.open(local(file), StandardOpenOption.READ)) {
        fill(ch, into, position);
      } catch (IOException e) {
        throw failed("read", file, e);
      }
    }

    @Override
    boolean scan(Path file, ByteBuffer header, java.util.function.Predicate<ByteBuffer> wanted, long position, long length,
        ByteBuffer chunk, java.util.function.Consumer<ByteBuffer> each) {
      try (FileChannel ch = FileChannel.open(local(file), StandardOpenOption.READ)) {
        fill(ch, header, 0);
        if (!wanted.test(header.flip())) return false;
        for (long at = position, end = position + length; at < end; ) {
          chunk.clear().limit((int) Math.min(chunk.capacity(), end - at));
          at += fill(ch, chunk, at);
          each.accept(chunk.flip());
        }
        return true;
      } catch (IOException e) {
        throw failed("read", file, e);
      }
    }

    /** Fills {@code into} to its limit with the channel's bytes from {@code position}; returns how many. */
    private static int fill(FileChannel ch, ByteBuffer into, long position) throws IOException {
      int n = 0;
      while (into.hasRemaining()) {
        int got = ch.read(into, position + n);
        if (got < 0) throw new EOFException("short file");
        n += got;
      }
      return n;
    }
  }

  static final class Hadoop extends Store {
    private final FileSystem fs;

    Hadoop(FileSystem fs) {
      this.fs = fs;
    }

    @Override
    long pollMs() {
      return 20;
    }

    @Override
    void publish(Path file, Path tmp, Path spare, ByteBuffer... bytes) {
      try {
        try (OutputStream os = fs.create(tmp, true)) {
          byte[] chunk = new byte[1 << 20];
          for (ByteBuffer b : bytes) {
            ByteBuffer from = b.duplicate();
            while (from.hasRemaining()) {
              int k = Math.min(chunk.length, from.remaining());
              from.get(chunk, 0, k);
              os.write(chunk, 0, k);
            }
          }
        }
        if (!fs.rename(tmp, file)) throw new IOException("rename from " + tmp + " failed");
      } catch (IOException e) {
        throw failed("write", file, e);
      }
    }

    @Override
    boolean exists(Path file) {
      try {
        return fs.exists(file);
      } catch (IOException e) {
        throw failed("look for", file, e);
      }
    }

    @Override
    void read(Path file, long position, ByteBuffer into) {
      byte[] bytes = new byte[into.remaining()];
      try (FSDataInputStream in = fs.open(file)) {
        in.readFully(position, bytes);
      } catch (IOException e) {
        throw failed("read", file, e);
      }
      into.put(bytes);
    }

    @Override
    boolean scan(Path file, ByteBuffer header, java.util.function.Predicate<ByteBuffer> wanted, long position, long length,
        ByteBuffer chunk, java.util.function.Consumer<ByteBuffer> each) {
      byte[] bytes = new byte[Math.max(chunk.capacity(), header.remaining())];
      try (FSDataInputStream in = fs.open(file)) {
        int h = header.remaining();
        in.readFully(0, bytes, 0, h);
        if (!wanted.test(header.put(bytes, 0, h).flip())) return false;
        for (long at = position, end = position + length; at < end; ) {
          int k = (int) Math.min(chunk.capacity(), end - at);
          in.readFully(at, bytes, 0, k);
          at += k;
          each.accept(chunk.clear().put(bytes, 0, k).flip());
        }
        return true;
      } catch (IOException e) {
        throw failed("read", file, e);
      }
    }

    /** A rename is a copy on object stores: a retired file is removed. */
    @Override
    void retire(Path file, Path spare) {
      try {
        fs.delete(file, false);
      } catch (IOException e) {
        throw failed("delete", file, e);
      }
    }
  }
}
