package org.charsight.probe;

import org.charsight.common.SparkProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe stage's progress in its own unit, one logistic regression:
 * {@code probe: 57/140 probes (char, char_encoder), ETA 1 min 10 s}, at most one line per interval.
 */
final class ProbeProgress {
  private static final Logger LOG = LoggerFactory.getLogger("progress");

  /** Probes at most: a letter that no training token has (or every one has) is skipped, and counted as done. */
  private final int total;
  private final long intervalMs;
  private final long startNanos = System.nanoTime();
  private int done;
  private long lastPrintMs = System.currentTimeMillis();

  /** @param vectors the vectors to be probed: one per arm, and one more per arm with a char encoder */
  ProbeProgress(int vectors, long intervalMs) {
    this.total = vectors * SpellingProbe.PROBES_PER_VECTOR;
    this.intervalMs = intervalMs;
  }

  /** What one arm's vector calls after each of its probes, from any thread. */
  Runnable of(String arm, String vector) {
    return () -> tick(arm, vector);
  }

  private synchronized void tick(String arm, String vector) {
    done++;
    long now = System.currentTimeMillis();
    if (now - lastPrintMs >= intervalMs || done == total) {
      lastPrintMs = now;
      LOG.info("{}: {}/{} probes ({}, {}), ETA {}", Probe.STAGE, done, total, arm, vector,
          SparkProgress.eta(startNanos, done, total));
    }
  }
}
