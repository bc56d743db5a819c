package org.charsight.train;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
  /** A task's file starts with whether it contributes (it had minibatches this round) and its last loss. */
  private static final int HEADER = Integer.BYTES + Double.BYTES;

  private final Store store;
  private final Path dir;
  private final int me;
  private final int tasks;
  /** Time spent waiting for other tasks' files, in nanoseconds, over all rounds so far. */
  long waitedNanos;

  FileAverage(Store store, Path dir, int me, int tasks) {
    this.store = store;
    this.dir = dir;
    this.me = me;
    this.tasks = tasks;
  }

  /** What the contributing tasks had in common this round: how many they were and their mean loss. */
  record Mean(int contributors, double score) {}

  /**
   * Replaces {@code v} by the contributors' mean (left as it is when no task contributed). Every
   * round has its own directory; a task removes its files of two rounds back, which every task has
   * read by the time it has this round's means.
   */
  Mean average(TaskContext ctx, int round, float[] v, boolean contributes, double score) {
    // The mean of one vector is itself (DL4J divides it by 1).
    if (tasks == 1) return contributes ? new Mean(1, score) : new Mean(0, 0);
    Path here = new Path(dir, "round-" + round);
    ByteBuffer mine = ByteBuffer.allocate(HEADER + Float.BYTES * v.length).order(ByteOrder.LITTLE_ENDIAN);
    mine.putInt(contributes ? 1 : 0).putDouble(score).asFloatBuffer().put(v);
    publish(here, "full-", mine.array());
    await(ctx, here, "full-");

    int lo = bound(me, v.length), hi = bound(me + 1, v.length);
    float[] sum = null;
    int count = 0;
    double scores = 0;
    byte[] header = new byte[HEADER];
    byte[] slice = new byte[Float.BYTES * (hi - lo)];
    for (int t = 0; t < tasks; t++) {
      Path file = new Path(here, "full-" + t);
      store.read(file, 0, header);
      ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
      if (h.getInt() == 0) continue;
      scores += h.getDouble();
      count++;
      store.read(file, HEADER + (long) Float.BYTES * lo, slice);
      float[] theirs = floats(slice, hi - lo);
      if (sum == null) {
        sum = theirs;
      } else {
        for (int i = 0; i < sum.length; i++) sum[i] += theirs[i];
      }
    }
    if (count == 0) return new Mean(0, 0);
    ByteBuffer mean = ByteBuffer.allocate(slice.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : sum) mean.putFloat(x / count);
    publish(here, "mean-", mean.array());
    await(ctx, here, "mean-");

    for (int t = 0; t < tasks; t++) {
      int from = bound(t, v.length), to = bound(t + 1, v.length);
      byte[] part = new byte[Float.BYTES * (to - from)];
      store.read(new Path(here, "mean-" + t), 0, part);
      ByteBuffer.wrap(part).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v, from, to - from);
    }
    if (round >= 2) {
      Path old = new Path(dir, "round-" + (round - 2));
      store.delete(new Path(old, "full-" + me));
      store.delete(new Path(old, "mean-" + me));
    }
    return new Mean(count, scores / count);
  }

  /** Waits until every task's file with this prefix exists, checking more slowly the longer it waits. */
  private void await(TaskContext ctx, Path here, String prefix) {
    long start = System.nanoTime();
    try {
      awaitFiles(ctx, here, prefix, start);
    } finally {
      waitedNanos += System.nanoTime() - start;
    }
  }

  private void awaitFiles(TaskContext ctx, Path here, String prefix, long start) {
    long sleepMs = 1;
    for (int t = 0; t < tasks; t++) {
      Path file = new Path(here, prefix + t);
      try {
        while (!store.exists(file)) {
          ctx.killTaskIfInterrupted();
          if (System.nanoTime() - start > WAIT_LIMIT_NANOS) {
            throw new IllegalStateException("parameter averaging: task " + me + " waited "
                + WAIT_LIMIT_NANOS / 60_000_000_000L + " min for " + file + "; its task must have stopped");
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
  private int bound(int t, int length) {
    return (int) ((long) length * t / tasks);
  }

  private static float[] floats(byte[] bytes, int n) {
    float[] f = new float[n];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  private void publish(Path here, String prefix, byte[] bytes) {
    store.publish(new Path(here, prefix + me), new Path(here, "." + prefix + me + ".tmp"), bytes);
  }

  /**
   * Where the files go. Hadoop's FileSystem for HDFS, S3 and the like; java.nio for local paths, since
   * Hadoop's local file system sets permissions on every file it creates (by running chmod when
   * Hadoop's native library is absent), which took 5-20 ms a file against 2 ms for the bytes.
   */
  abstract static class Store {
    /** The longest pause between two looks for a file: a look costs a system call here, a request to a server there. */
    abstract long pollMs();

    /** Writes {@code file} under the temporary name {@code tmp} and renames it: whoever sees the file sees all of it. */
    abstract void publish(Path file, Path tmp, byte[] bytes);

    abstract boolean exists(Path file);

    abstract void read(Path file, long position, byte[] into);

    abstract void delete(Path file);

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

    @Override
    void publish(Path file, Path tmp, byte[] bytes) {
      try {
        Files.createDirectories(local(file).getParent());
        Files.write(local(tmp), bytes);
        Files.move(local(tmp), local(file), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw failed("write", file, e);
      }
    }

    @Override
    boolean exists(Path file) {
      return Files.exists(local(file));
    }

    @Override
    void read(Path file, long position, byte[] into) {
      try (FileChannel ch = FileChannel.open(local(file), StandardOpenOption.READ)) {
        ByteBuffer b = ByteBuffer.wrap(into);
        while (b.hasRemaining()) {
          if (ch.read(b, position + b.position()) < 0) throw new EOFException("short file");
        }
      } catch (IOException e) {
        throw failed("read", file, e);
      }
    }

    @Override
    void delete(Path file) {
      try {
        Files.deleteIfExists(local(file));
      } catch (IOException e) {
        throw failed("delete", file, e);
      }
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
    void publish(Path file, Path tmp, byte[] bytes) {
      try {
        try (OutputStream os = fs.create(tmp, true)) {
          os.write(bytes);
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
    void read(Path file, long position, byte[] into) {
      try (FSDataInputStream in = fs.open(file)) {
        in.readFully(position, into);
      } catch (IOException e) {
        throw failed("read", file, e);
      }
    }

    @Override
    void delete(Path file) {
      try {
        fs.delete(file, false);
      } catch (IOException e) {
        throw failed("delete", file, e);
      }
    }
  }
}
