package org.charsight.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.charsight.testing.SparkTestSession;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RepartitionStrategy;
import org.deeplearning4j.spark.util.SparkUtils;
import org.junit.jupiter.api.Test;

class RoundPlanTest {

  /**
   * The plan is what DL4J's master does, asked of DL4J itself: its split of a chunk into rounds and its
   * Balanced repartitioning (Always) of each round, run by Spark on numbered elements, give every worker the
   * same elements in the same order as the plan. Partition sizes that split evenly (every round as it is),
   * unevenly (rounds with 4 + 5 or 6 + 5 minibatches, dealt out again; 6 + 6, beyond what DL4J deals out, where
   * the fitted shares still agree) and a chunk smaller than one round.
   */
  @Test
  void theRoundsAndWorkersAreThoseOfDl4jsMaster() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkTestSession.get("local[2]").sparkContext());
    int workers = 2;
    int per = 5;
    int rebalancedRounds = 0;
    int drawnAll = 0;
    int[][] layouts = {{50, 50}, {51, 50}, {49, 50}, {253, 252}, {7, 4}, {3, 3}};
    for (int[] sizes : layouts) {
      for (long seed : new long[] {1, 42, -7}) {
        JavaRDD<Integer> data = numbered(jsc, sizes);
        int total = Arrays.stream(sizes).sum();
        int splits = RoundPlan.splits(total, per, workers);
        List<JavaRDD<Integer>> dl4jSplits = Arrays.asList(SparkUtils.balancedRandomSplit(total, per * workers, data, seed));
        assertEquals(splits, dl4jSplits.size(), "rounds for " + Arrays.toString(sizes));
        RoundPlan.Dealt dealt = RoundPlan.rebalanced(sizes, splits, seed, workers, per);
        long[][] keys = dealt.keys();
        int drawn = 0;
        for (int r = 0; r < splits; r++) {
          List<List<Integer>> planned = planned(keys, sizes, r, workers);
          int inRound = planned.stream().mapToInt(List::size).sum();
          // DL4J's balancing deals out workers x per + the remainder; the rest it sends to random workers.
          int drawnHere = inRound > workers * per ? inRound - workers * per - (inRound - workers * per) % workers : 0;
          drawn += drawnHere;
          List<List<Integer>> dl4j = SparkUtils.repartition(dl4jSplits.get(r), Repartition.Always, RepartitionStrategy.Balanced,
              per, workers).glom().collect();
          if (drawnHere == 0) {
            assertEquals(dl4j, planned, "round " + r + " of " + Arrays.toString(sizes) + ", seed " + seed);
          } else {
            // DL4J sends these to unseeded random workers, after a full share wherever they land: what each
            // worker fits (its first per minibatches) is still the same.
            for (int w = 0; w < workers; w++) {
              assertTrue(dl4j.get(w).size() >= per && planned.get(w).size() >= per, "a full share for worker " + w);
              assertEquals(dl4j.get(w).subList(0, per), planned.get(w).subList(0, per), "worker " + w + ", round " + r);
            }
          }
          if (planned.stream().anyMatch(w -> w.size() != per)) rebalancedRounds++;
        }
        assertEquals(drawn, dealt.drawn(), "minibatches drawn for " + Arrays.toString(sizes) + ", seed " + seed);
        drawnAll += drawn;
      }
    }
    assertTrue(rebalancedRounds > 20, "rounds dealt out again: " + rebalancedRounds);
    assertTrue(drawnAll > 0, "some rounds hold more than DL4J deals out");
  }

  /** Without rebalancing, a partition's minibatches are its worker's, each in the round DL4J's split gives it. */
  @Test
  void eachMinibatchFallsInTheRoundOfDl4jsSplit() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkTestSession.get("local[2]").sparkContext());
    int[] sizes = {23, 21};
    long seed = 9;
    int splits = RoundPlan.splits(44, 2, 2);
    JavaRDD<Integer>[] dl4j = SparkUtils.balancedRandomSplit(44, 4, numbered(jsc, sizes), seed);
    for (int p = 0; p < sizes.length; p++) {
      int[] rounds = RoundPlan.rounds(p, sizes[p], splits, seed);
      for (int r = 0; r < splits; r++) {
        List<Integer> mine = new ArrayList<>();
        for (int i = 0; i < sizes[p]; i++) if (rounds[i] == r) mine.add(p * 1000 + i);
        assertEquals(dl4j[r].glom().collect().get(p), mine, "partition " + p + ", round " + r);
      }
    }
  }

  @Test
  void aKeyHoldsWorkerRoundAndOrderAndSortsInThatOrder() {
    long k = RoundPlan.key(3, 17, 250);
    assertEquals(3, RoundPlan.worker(k));
    assertEquals(17, RoundPlan.round(k));
    assertTrue(RoundPlan.key(0, 1, 0) > RoundPlan.key(0, 0, 999_999));
    assertTrue(RoundPlan.key(1, 0, 0) > RoundPlan.key(0, 999_999, 999_999));
    assertEquals(3, new RoundPlan.ByWorker(4).getPartition(k));
  }

  /** Partition p holds p * 1000 + i for i below its size. */
  private static JavaRDD<Integer> numbered(JavaSparkContext jsc, int[] sizes) {
    List<Integer> parts = new ArrayList<>();
    for (int p = 0; p < sizes.length; p++) parts.add(p);
    return jsc.parallelize(parts, sizes.length).mapPartitionsWithIndex((p, it) -> {
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < sizes[p]; i++) out.add(p * 1000 + i);
      return out.iterator();
    }, true);
  }

  /** Round r's elements per worker, in the order of their keys. */
  private static List<List<Integer>> planned(long[][] keys, int[] sizes, int r, int workers) {
    List<long[]> inRound = new ArrayList<>();
    for (int p = 0; p < sizes.length; p++) {
      for (int i = 0; i < sizes[p]; i++) if (RoundPlan.round(keys[p][i]) == r) inRound.add(new long[] {keys[p][i], p * 1000 + i});
    }
    inRound.sort((a, b) -> Long.compare(a[0], b[0]));
    List<List<Integer>> out = new ArrayList<>();
    for (int w = 0; w < workers; w++) out.add(new ArrayList<>());
    for (long[] e : inRound) out.get(RoundPlan.worker(e[0])).add((int) e[1]);
    return out;
  }
}
