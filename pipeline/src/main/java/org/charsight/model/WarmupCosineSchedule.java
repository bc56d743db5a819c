package org.charsight.model;

import java.util.Objects;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * Learning rate: linear warm-up from 0 to {@code peak} over {@code warmup} iterations, then a
 * cosine decay to {@code floor} at {@code total}, flat after. As in nanoGPT. Iterations count from
 * {@code start}: fine-tuning begins a new schedule at the step where pretraining stopped, since the
 * network's iteration count carries on.
 */
public class WarmupCosineSchedule implements ISchedule {
  public double peak;
  public double floor;
  public int warmup;
  public int total;
  public int start;

  public WarmupCosineSchedule() {}

  public WarmupCosineSchedule(double peak, double floor, int warmup, int total) {
    this(peak, floor, warmup, total, 0);
  }

  /** {@code warmup} and {@code total} count iterations after {@code start}. */
  public WarmupCosineSchedule(double peak, double floor, int warmup, int total, int start) {
    this.peak = peak;
    this.floor = floor;
    this.warmup = warmup;
    this.total = total;
    this.start = start;
  }

  @Override
  public double valueAt(int step, int epoch) {
    int iteration = Math.max(0, step - start);
    if (iteration < warmup) return peak * (iteration + 1) / warmup;
    if (iteration >= total) return floor;
    double progress = (double) (iteration - warmup) / Math.max(1, total - warmup);
    return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
  }

  /**
   * Value equality matters: DL4J groups parameters whose updaters are equal into one updater block,
   * and a config read back from JSON holds a separate schedule object per layer. Without equals,
   * a reloaded network would lay out its Adam state differently from the one that saved it.
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof WarmupCosineSchedule s && s.peak == peak && s.floor == floor && s.warmup == warmup
        && s.total == total
        && s.start == start;
  }

  @Override
  public int hashCode() {
    return Objects.hash(peak, floor, warmup, total, start);
  }

  @Override
  public ISchedule clone() {
    return new WarmupCosineSchedule(peak, floor, warmup, total, start);
  }
}
