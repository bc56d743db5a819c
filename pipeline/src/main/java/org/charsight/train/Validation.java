package org.charsight.train;

import java.util.ArrayList;
import java.util.List;
import org.charsight.common.UserError;
import org.charsight.model.Batch;
import org.charsight.model.LanguageModel;
import org.charsight.shards.ShardSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/** Validation loss of the training stages: fixed batches, the loss per counted token over all of them. */
final class Validation {
  private Validation() {}

  static List<DataSet> lmBatches(String stage, ShardSet shards, int count) {
    List<int[]> windows = shards.firstWindows("val", count);
    if (windows.isEmpty()) {
      throw new UserError(stage + ": " + shards.dir() + " has no validation windows (raise prepare.val_fraction)");
    }
    List<DataSet> out = new ArrayList<>();
    for (int i = 0; i < windows.size(); i += 16) {
      out.add(Batch.of(windows.subList(i, Math.min(windows.size(), i + 16)).toArray(int[][]::new), shards.context(),
          DataType.FLOAT));
    }
    return out;
  }

  /** The mean loss per counted token (a batch's loss is already a mean over its counted tokens). */
  static double loss(LanguageModel m, List<DataSet> val) {
    double sum = 0;
    double tokens = 0;
    for (DataSet ds : val) {
      double n = Batch.countedTokens(ds);
      sum += m.loss(ds) * n;
      tokens += n;
    }
    return sum / tokens;
  }
}
