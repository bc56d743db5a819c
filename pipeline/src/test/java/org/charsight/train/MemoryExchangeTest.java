package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryExchangeTest {
  /** An exchange directory as a run owned by {@code owner} leaves it mid-chunk: a round's files. */
  private static Path left(Path memory, String key, ProcessHandle owner) throws IOException {
    Path round = Files.createDirectories(memory.resolve(MemoryExchange.name(key, owner)).resolve("job/attempt-0/round-3"));
    Files.write(round.resolve("full-0"), new byte[4096]);
    Files.write(round.resolve("mean-1"), new byte[2048]);
    return memory.resolve(MemoryExchange.name(key, owner));
  }

  @Test
  void aKilledOwnersFilesAreRemovedARunningOwnersKept(@TempDir Path memory) throws Exception {
    Process killed = new ProcessBuilder("sleep", "600").start();
    Process running = new ProcessBuilder("sleep", "600").start();
    try {
      Path dead = left(memory, "a1", killed.toHandle());
      Path alive = left(memory, "b2", running.toHandle());
      Path mine = left(memory, "c3", ProcessHandle.current());
      // Not this class's names: an earlier version's directory, and someone else's file.
      Path older = Files.createDirectories(memory.resolve(MemoryExchange.PREFIX + "0123abcd"));
      Path other = Files.write(memory.resolve("other-file"), new byte[] {1});
      new ProcessBuilder("kill", "-9", Long.toString(killed.pid())).start().waitFor();
      assertTrue(killed.waitFor(30, TimeUnit.SECONDS), "killed process exits");

      assertEquals(1, MemoryExchange.removeAbandoned(memory));
      assertFalse(Files.exists(dead), "the killed owner's directory is removed");
      for (Path kept : new Path[] {alive, mine, older, other}) assertTrue(Files.exists(kept), kept + " is kept");
      assertTrue(Files.exists(alive.resolve("job/attempt-0/round-3/full-0")), "and its files");
      assertEquals(0, MemoryExchange.removeAbandoned(memory), "nothing more to remove");

      // A pid reused by a process started later is not the owner: its directory goes too.
      Path reused = memory.resolve(MemoryExchange.name("d4", running.toHandle()).replaceAll("-\\d+$", "-1"));
      Files.createDirectories(reused.resolve("job"));
      assertEquals(1, MemoryExchange.removeAbandoned(memory));
      assertFalse(Files.exists(reused));
      assertTrue(Files.exists(alive));
    } finally {
      killed.destroyForcibly();
      running.destroyForcibly();
    }
  }

  @Test
  void aLocalMastersExchangeIsNamedAfterItsOutputAndThisProcess() {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(MemoryExchange.MEMORY), "this machine has /dev/shm");
    org.apache.hadoop.fs.Path shared = new org.apache.hadoop.fs.Path("file:/data/run/_averaging");
    String name = MemoryExchange.dir("local[2]", shared, 1 << 20, 2).getName();
    assertTrue(name.startsWith(MemoryExchange.PREFIX) && name.contains("-" + ProcessHandle.current().pid() + "-"), name);
  }
}
