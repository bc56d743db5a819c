package org.charsight.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;

/**
 * One phase of fine-tuning: its rounds, its learning-rate schedule (warm-up, then cosine decay from
 * {@code learningRate} to {@code minLearningRate}; equal rates make it constant) and its mix of
 * language-model and task rows. The published run had two: joint LM + tasks at 3e-4, then tasks
 * only at 3e-5. Each phase's schedule starts where the previous phase stopped; the Adam moments
 * carry on.
 *
 * @param lmFraction share of minibatch rows that are LM windows; 0 trains on the tasks alone
 * @param lmWeight weight of the mean LM loss against the mean task loss (see {@link Finetune#lossWeights})
 */
public record Phase(int rounds, double learningRate, double minLearningRate, int warmupSteps, double lmFraction,
    double lmWeight) implements Serializable {

  static final Set<String> KEYS = Set.of("rounds", "learning_rate", "min_learning_rate", "warmup_steps", "lm_fraction",
      "lm_weight");

  /**
   * {@code finetune.phases} if it lists any, each key it leaves out taken from {@code finetune.*};
   * otherwise one phase made of {@code finetune.*}.
   */
  static List<Phase> from(CharsightConfig c) {
    List<Map<String, Object>> listed = c.objects("finetune.phases");
    if (listed.isEmpty()) return List.of(of(c, "finetune"));
    List<Phase> phases = new ArrayList<>();
    for (int i = 0; i < listed.size(); i++) {
      String key = "finetune.phases[" + i + "]";
      Set<String> unknown = new TreeSet<>(listed.get(i).keySet());
      unknown.removeAll(KEYS);
      if (!unknown.isEmpty()) throw new UserError(key + ": unknown key(s) " + unknown + "; a phase may set " + new TreeSet<>(KEYS));
      if (!listed.get(i).containsKey("rounds")) throw new UserError(key + ": expected rounds (a phase's length)");
      CharsightConfig pc = c;
      for (Map.Entry<String, Object> e : listed.get(i).entrySet()) pc = pc.with("finetune." + e.getKey(), e.getValue());
      try {
        phases.add(of(pc, "finetune"));
      } catch (UserError e) {
        throw new UserError(e.getMessage().replaceFirst("^finetune\\.", key + "."), e);
      }
    }
    return List.copyOf(phases);
  }

  private static Phase of(CharsightConfig c, String section) {
    double lr = c.number(section + ".learning_rate");
    double minLr = c.number(section + ".min_learning_rate");
    if (!(lr > 0)) throw new UserError(section + ".learning_rate: expected a number above 0, got " + lr);
    if (!(minLr >= 0 && minLr <= lr)) {
      throw new UserError(section + ".min_learning_rate: expected a number from 0 to " + section + ".learning_rate (" + lr
          + "), got " + minLr);
    }
    double lmFraction = c.number(section + ".lm_fraction");
    if (!(lmFraction >= 0 && lmFraction < 1)) {
      throw new UserError(section + ".lm_fraction: expected a number from 0 (tasks only) up to (not including) 1, got "
          + lmFraction);
    }
    double lmWeight = c.number(section + ".lm_weight");
    if (!(lmWeight >= 0 && lmWeight < 1)) {
      throw new UserError(section + ".lm_weight: expected a number from 0 up to (not including) 1, got " + lmWeight);
    }
    return new Phase(c.intAtLeast(section + ".rounds", 1), lr, minLr, c.intAtLeast(section + ".warmup_steps", 0),
        lmFraction, lmWeight);
  }

  /** The phase that round {@code round} (0-based) belongs to, and the round it starts at: {index, start}. */
  static int[] at(List<Phase> phases, int round) {
    int start = 0;
    for (int i = 0; i < phases.size(); i++) {
      if (round < start + phases.get(i).rounds()) return new int[] {i, start};
      start += phases.get(i).rounds();
    }
    return new int[] {phases.size() - 1, start - phases.get(phases.size() - 1).rounds()};
  }

  static int totalRounds(List<Phase> phases) {
    return phases.stream().mapToInt(Phase::rounds).sum();
  }
}
