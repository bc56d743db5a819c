package org.charsight.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.charsight.common.CsvTable;

/**
 * Exact-match outcomes grouped for the result tables, and the tables: accuracy per group pooled
 * over runs and per run, each arm minus the reference arm (paired), and accuracy by whether
 * training asked the question. Scores are small (one boolean per answer), so this runs on the driver.
 */
final class ResultTables {
  static final String RESULTS_HEADER = "arm,task,split,tokens_bucket,runs,n,correct,accuracy,ci_low,ci_high";
  static final String DIFFERENCES_HEADER = "arm,reference,task,split,tokens_bucket,runs,n,difference,ci_low,ci_high,"
      + "arm_only,reference_only,p_value,p_holm";
  static final String BY_QUESTION_HEADER = "arm,task,split,question,runs,n,correct,accuracy,ci_low,ci_high";
  /**
   * The splits whose rows (all tokens-per-word buckets pooled) form the family Holm's correction
   * runs over: the questions only spelling answers, which the report's verdicts are about.
   */
  static final List<String> HOLM_SPLITS = List.of("val_heldout", "val_nonce", "val_pseudoword");

  /** One scored answer, as the predictions table holds it. */
  record Scored(String run, String arm, String task, String split, int wordTokens, int example, boolean correct) {
    static Scored of(Row r) {
      return new Scored(r.getAs("run"), r.getAs("arm"), r.getAs("task"), r.getAs("split"), r.<Integer>getAs("word_tokens"),
          r.<Integer>getAs("example"), r.<Boolean>getAs("correct"));
    }
  }

  /** group -> run -> example -> correct, by tokens-per-word bucket and "all". */
  private final Map<GroupKey, Map<String, TreeMap<Integer, Boolean>>> groups = new TreeMap<>();
  /** The same with the bucket "trained" or "new": whether training asked the question. */
  private final Map<GroupKey, Map<String, TreeMap<Integer, Boolean>>> byQuestion = new TreeMap<>();
  private final long seed;
  private final int resamples;
  /** Groups given a bootstrap seed so far: results first, then by question. */
  private int seeded;
  private final List<Map<String, Object>> json = new ArrayList<>();

  ResultTables(long seed, int resamples) {
    this.seed = seed;
    this.resamples = resamples;
  }

  /** @param askedInTraining whether training asked this question, or null where that is not known */
  void add(Scored s, Boolean askedInTraining) {
    for (String bucket : new String[] {ExactMatchScorer.tokensBucket(s.wordTokens()), "all"}) {
      put(groups, new GroupKey(s.arm(), s.task(), s.split(), bucket), s);
    }
    if (askedInTraining != null) put(byQuestion, new GroupKey(s.arm(), s.task(), s.split(), askedInTraining ? "trained" : "new"), s);
  }

  private static void put(Map<GroupKey, Map<String, TreeMap<Integer, Boolean>>> m, GroupKey k, Scored s) {
    m.computeIfAbsent(k, x -> new TreeMap<>()).computeIfAbsent(s.run(), x -> new TreeMap<>()).put(s.example(), s.correct());
  }

  boolean hasByQuestion() {
    return !byQuestion.isEmpty();
  }

  /** results.csv and results_by_run.csv, in that order; fills {@link #json}. Call before {@link #byQuestionCsv}. */
  String[] resultsCsv() {
    CsvTable csv = new CsvTable(RESULTS_HEADER);
    CsvTable byRun = new CsvTable("run," + RESULTS_HEADER);
    for (Map.Entry<GroupKey, Map<String, TreeMap<Integer, Boolean>>> e : groups.entrySet()) {
      long s = seed + seeded++;
      ExactMatchScorer.Accuracy a = ExactMatchScorer.accuracy(outcomes(e.getValue()), s, resamples);
      csv.row(e.getKey().fields(), accuracyFields(a));
      for (Map.Entry<String, TreeMap<Integer, Boolean>> run : e.getValue().entrySet()) {
        ExactMatchScorer.Accuracy one = ExactMatchScorer.accuracy(outcomes(run.getValue()), s, resamples);
        byRun.row(new String[] {run.getKey()}, e.getKey().fields(), accuracyFields(one));
      }
      json.add(jsonRow(e.getKey(), a));
    }
    return new String[] {csv.text(), byRun.text()};
  }

  private static Map<String, Object> jsonRow(GroupKey k, ExactMatchScorer.Accuracy a) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("arm", k.arm());
    row.put("task", k.task());
    row.put("split", k.split());
    row.put("tokens_bucket", k.bucket());
    row.put("runs", a.runs());
    row.put("n", a.n());
    row.put("correct", a.correct());
    row.put("accuracy", a.accuracy());
    row.put("ci_low", a.low());
    row.put("ci_high", a.high());
    return row;
  }

  /** results.json's rows, after {@link #resultsCsv}. */
  List<Map<String, Object>> json() {
    return json;
  }

  String byQuestionCsv() {
    CsvTable questions = new CsvTable(BY_QUESTION_HEADER);
    for (Map.Entry<GroupKey, Map<String, TreeMap<Integer, Boolean>>> e : byQuestion.entrySet()) {
      long s = seed + seeded++;
      questions.row(e.getKey().fields(), accuracyFields(ExactMatchScorer.accuracy(outcomes(e.getValue()), s, resamples)));
    }
    return questions.text();
  }

  /**
   * Each contrast's first arm minus its second on the same examples of the same runs: the paired
   * bootstrap interval, the discordant questions (right for one arm only, pooled over runs), the
   * exact two-sided McNemar p-value from them, and Holm's adjustment of that p over the family of
   * rows in {@link #HOLM_SPLITS} with all buckets pooled (blank elsewhere). Contrasts whose arms
   * were not both evaluated are left out.
   */
  String differencesCsv(List<Contrast> contrasts) {
    List<String[]> rows = new ArrayList<>();
    List<Integer> family = new ArrayList<>();
    List<Double> familyP = new ArrayList<>();
    int g = 0;
    for (Contrast c : contrasts) {
      for (Map.Entry<GroupKey, Map<String, TreeMap<Integer, Boolean>>> e : groups.entrySet()) {
        GroupKey k = e.getKey();
        if (!k.arm().equals(c.arm())) continue;
        Map<String, TreeMap<Integer, Boolean>> ref = groups.get(k.withArm(c.reference()));
        if (ref == null) continue;
        List<boolean[]> a = new ArrayList<>();
        List<boolean[]> b = new ArrayList<>();
        for (Map.Entry<String, TreeMap<Integer, Boolean>> run : e.getValue().entrySet()) {
          TreeMap<Integer, Boolean> other = ref.get(run.getKey());
          if (other == null || !other.keySet().equals(run.getValue().keySet())) {
            throw new IllegalStateException("arms were not scored on the same examples in " + run.getKey() + ", " + k);
          }
          a.add(outcomes(run.getValue()));
          b.add(outcomes(other));
        }
        ExactMatchScorer.Difference d = ExactMatchScorer.difference(a, b, seed + 7919L * ++g, resamples);
        int[] discordant = Significance.discordant(a, b);
        double p = Significance.mcnemarExact(discordant[0], discordant[1]);
        if (k.bucket().equals("all") && HOLM_SPLITS.contains(k.split())) {
          family.add(rows.size());
          familyP.add(p);
        }
        rows.add(new String[] {c.arm(), c.reference(), k.task(), k.split(), k.bucket(), Integer.toString(d.runs()),
            Integer.toString(d.n()), f4(d.difference()), f4(d.low()), f4(d.high()), Integer.toString(discordant[0]),
            Integer.toString(discordant[1]), f4(p), ""});
      }
    }
    double[] holm = Significance.holm(familyP.stream().mapToDouble(Double::doubleValue).toArray());
    for (int i = 0; i < family.size(); i++) rows.get(family.get(i))[13] = f4(holm[i]);
    CsvTable csv = new CsvTable(DIFFERENCES_HEADER);
    for (String[] row : rows) csv.row(row);
    return csv.text();
  }

  private static List<boolean[]> outcomes(Map<String, TreeMap<Integer, Boolean>> byRun) {
    List<boolean[]> out = new ArrayList<>();
    for (TreeMap<Integer, Boolean> run : byRun.values()) out.add(outcomes(run));
    return out;
  }

  /** One run's outcomes in example order. */
  private static boolean[] outcomes(TreeMap<Integer, Boolean> run) {
    boolean[] b = new boolean[run.size()];
    int i = 0;
    for (boolean v : run.values()) b[i++] = v;
    return b;
  }

  private static String[] accuracyFields(ExactMatchScorer.Accuracy a) {
    return new String[] {Integer.toString(a.runs()), Integer.toString(a.n()), Integer.toString(a.correct()),
        f4(a.accuracy()), f4(a.low()), f4(a.high())};
  }

  static String f4(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }
}
