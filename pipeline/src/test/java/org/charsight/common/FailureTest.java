package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/** Cause chains as Spark delivers them to the driver, and the line and exit code each gives. */
class FailureTest {
  private static SparkException task(Throwable cause) {
    return new SparkException("Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times, most recent failure:"
        + " Lost task 0.0 in stage 3.0 (TID 7) (localhost executor driver): " + cause + "\n\tat a.B.c(B.java:1)\n"
        + "Driver stacktrace:", cause);
  }

  @Test
  void aUserErrorAnywhereInTheChainIsItsOwnLine() {
    Failure f = Failure.of("prepare", task(new RuntimeException(new UserError("prepare: x.txt: a NUL byte at 3"))));
    assertEquals(2, f.exitCode());
    assertEquals("charsight: prepare: x.txt: a NUL byte at 3", f.printed("/logs/a.log"));
  }

  @Test
  void damagedFilesNameTheFileAndAreTheUsersToFix() {
    Failure f = Failure.of("pretrain", task(new ChecksumException(
        "Checksum error: file:/data/shards/train/part-00000.parquet at 0 exp: 1 got: 2", 0)));
    assertEquals(2, f.exitCode());
    assertEquals("charsight: pretrain: file:/data/shards/train/part-00000.parquet: checksum mismatch: the file was changed"
        + " or damaged after it was written; rerun the stage that wrote it (stack trace in /logs/a.log)", f.printed("/logs/a.log"));

    f = Failure.of("prepare", task(new UncheckedIOException("prepare: error reading hdfs://nn:8020/corpus/a.txt.gz",
        new EOFException("Unexpected end of input stream"))));
    assertEquals(2, f.exitCode());
    assertEquals("prepare: hdfs://nn:8020/corpus/a.txt.gz: truncated or corrupt (EOFException: Unexpected end of input stream);"
        + " replace the file or leave it out", f.line());

    f = Failure.of("prepare", task(new RuntimeException("s3a://bucket/c/x.parquet is not a Parquet file. Expected magic number"
        + " at tail, but found [1, 2, 3, 4]")));
    assertEquals("prepare: s3a://bucket/c/x.parquet: not a readable Parquet file (not Parquet, or cut short or damaged);"
        + " if a charsight stage wrote it, rerun that stage", f.line());

    f = Failure.of("prepare", new UncheckedIOException(new IOException("No space left on device")));
    assertEquals(2, f.exitCode());
    assertEquals("prepare: no space left on the device (free some, or write --out elsewhere; Spark's scratch space is"
        + " spark.local.dir)", f.line());
  }

  @Test
  void anythingElseIsAnInternalErrorThatPointsToTheLog() {
    Failure f = Failure.of("evaluate", task(new NullPointerException("Cannot invoke \"String.length()\"")));
    assertEquals(1, f.exitCode());
    assertEquals("charsight: evaluate: internal error: NullPointerException: Cannot invoke \"String.length()\""
        + " (stack trace in /logs/e.log)", f.printed("/logs/e.log"));
    f = Failure.of("pretrain", new IllegalStateException(new OutOfMemoryError("Java heap space")));
    assertEquals(1, f.exitCode());
    assertEquals("pretrain: out of memory (Java heap space); give the driver more with CHARSIGHT_DRIVER_MEMORY or executors"
        + " more with spark.conf", f.line());
  }

  @Test
  void aMessageOverSeveralLinesIsPrintedAsItsFirst() {
    Failure f = Failure.of("prepare", new UserError("prepare.tokenizer: tokenizer.json: not valid JSON: Unexpected end\n"
        + " at [Source: (byte[])\"{\"; line: 2, column: 1]"));
    assertEquals("charsight: prepare.tokenizer: tokenizer.json: not valid JSON: Unexpected end", f.printed(null));
  }
}
