package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.junit.jupiter.api.Test;

/** Fine-tuning phases from the conf: what a phase leaves out comes from finetune.*, and bad phases name their key. */
class PhaseTest {

  @Test
  void noPhasesIsOnePhaseOfTheFlatKeys() {
    CharsightConfig c = CharsightConfig.load(null, List.of("finetune.rounds=7", "finetune.learning_rate=2e-3"));
    assertEquals(List.of(new Phase(7, 2e-3, 1e-4, 20, 0.1, 0.1)), Phase.from(c));
  }

  @Test
  void phasesInheritWhatTheyLeaveOutAndRunOneAfterAnother() {
    CharsightConfig c = CharsightConfig.load(null, List.of("finetune.warmup_steps=0",
        "finetune.phases=[{rounds=3, learning_rate=3e-4, min_learning_rate=3e-4}, {rounds=5, learning_rate=3e-5,"
            + " min_learning_rate=3e-5, lm_fraction=0}]"));
    List<Phase> p = Phase.from(c);
    assertEquals(List.of(new Phase(3, 3e-4, 3e-4, 0, 0.1, 0.1), new Phase(5, 3e-5, 3e-5, 0, 0.0, 0.1)), p);
    assertEquals(8, Phase.totalRounds(p));
    assertArrayEquals(new int[] {0, 0}, Phase.at(p, 0));
    assertArrayEquals(new int[] {0, 0}, Phase.at(p, 2));
    assertArrayEquals(new int[] {1, 3}, Phase.at(p, 3));
    assertArrayEquals(new int[] {1, 3}, Phase.at(p, 7));
  }

  @Test
  void aBadPhaseNamesItsKey() {
    UserError noRounds = assertThrows(UserError.class, () -> Phase.from(CharsightConfig.load(null,
        List.of("finetune.phases=[{learning_rate=1e-3}]"))));
    assertEquals("finetune.phases[0]: expected rounds (a phase's length)", noRounds.getMessage());
    UserError typo = assertThrows(UserError.class, () -> Phase.from(CharsightConfig.load(null,
        List.of("finetune.phases=[{rounds=2}, {rounds=2, learning_rat=1e-3}]"))));
    assertEquals("finetune.phases[1]: unknown key(s) [learning_rat]; a phase may set [learning_rate, lm_fraction, lm_weight, "
        + "min_learning_rate, rounds, warmup_steps]", typo.getMessage());
    UserError range = assertThrows(UserError.class, () -> Phase.from(CharsightConfig.load(null,
        List.of("finetune.phases=[{rounds=2, lm_fraction=1}]"))));
    assertEquals("finetune.phases[0].lm_fraction: expected a number from 0 (tasks only) up to (not including) 1, got 1.0",
        range.getMessage());
  }
}
