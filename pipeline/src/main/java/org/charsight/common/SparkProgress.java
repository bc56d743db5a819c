package org.charsight.common;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prints one progress line per running Spark stage at most every few seconds
 * ({@code tokenize: 12/40 tasks, 31 s}). Spark's own console bar needs a TTY and INFO logging;
 * this works in CI logs and under spark-submit alike.
 */
public final class SparkProgress extends SparkListener {
  private static final Logger LOG = LoggerFactory.getLogger("progress");
  /**
   * A job property: when "true", its stages are not reported. The training stages set it around
   * DL4J's fits, whose many short Spark jobs say nothing a user can use; they report rounds instead.
   */
  public static final String QUIET = "charsight.progress.quiet";

  private record Stage(String name, int tasks, long startMs, AtomicInteger done) {}

  private final Map<Integer, Stage> running = new ConcurrentHashMap<>();
  private final long intervalMs;
  private volatile long lastPrintMs;

  public SparkProgress(long intervalMs) {
    this.intervalMs = intervalMs;
  }

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted e) {
    var info = e.stageInfo();
    if (e.properties() != null && "true".equals(e.properties().getProperty(QUIET))) return;
    String desc = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
    String name = desc != null ? desc : info.name();
    running.put(info.stageId(), new Stage(name, info.numTasks(), System.currentTimeMillis(), new AtomicInteger()));
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd e) {
    Stage s = running.get(e.stageId());
    if (s == null) return;
    int done = s.done().incrementAndGet();
    long now = System.currentTimeMillis();
    if (now - lastPrintMs >= intervalMs) {
      lastPrintMs = now;
      LOG.info("{}: {}/{} tasks, {} s", s.name(), done, s.tasks(), (now - s.startMs()) / 1000);
    }
  }

  /** "3 min 20 s" or "45 s": how long the rest takes at the pace so far. */
  public static String eta(long startNanos, double done, double total) {
    if (done <= 0) return "unknown";
    long s = Math.round((System.nanoTime() - startNanos) / 1e9 * (total - done) / done);
    return s >= 60 ? s / 60 + " min " + s % 60 + " s" : s + " s";
  }

  @Override
  public void onStageCompleted(SparkListenerStageCompleted e) {
    Stage s = running.remove(e.stageInfo().stageId());
    boolean failed = e.stageInfo().failureReason().isDefined();
    // Short stages are not news; long ones and failures are.
    if (s != null && (failed || System.currentTimeMillis() - s.startMs() >= 2000)) {
      LOG.info("{}: {}, {} tasks in {} s", s.name(), failed ? "failed" : "done", s.tasks(),
          String.format("%.1f", (System.currentTimeMillis() - s.startMs()) / 1000.0));
    }
  }
}
