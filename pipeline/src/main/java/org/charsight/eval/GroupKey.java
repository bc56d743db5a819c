package org.charsight.eval;

import java.util.Comparator;

/**
 * A row of the result tables: arm x task x split x bucket, where the bucket is a tokens-per-word
 * range or "all" (results.csv), or "trained" / "new" (results_by_question.csv). Ordered field by
 * field, which is the order of the comma-joined text: the tables come out sorted, and each group's
 * bootstrap seed follows from its place.
 */
record GroupKey(String arm, String task, String split, String bucket) implements Comparable<GroupKey> {
  private static final Comparator<GroupKey> ORDER = Comparator.comparing(GroupKey::arm).thenComparing(GroupKey::task)
      .thenComparing(GroupKey::split).thenComparing(GroupKey::bucket);

  /** The same group of another arm. */
  GroupKey withArm(String other) {
    return new GroupKey(other, task, split, bucket);
  }

  /** The key's four CSV fields. */
  String[] fields() {
    return new String[] {arm, task, split, bucket};
  }

  @Override
  public String toString() {
    return String.join(",", fields());
  }

  @Override
  public int compareTo(GroupKey o) {
    return ORDER.compare(this, o);
  }
}
