package org.charsight.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.charsight.common.AtomicFiles;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.charsight.model.LanguageModel;
import org.charsight.model.ModelFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training stage's checkpoints: every arm's model and updater as {@code <arm>/checkpoint-<round>.zip},
 * committed by {@code position.json}, which names the round, the round checkpointed before it and the
 * SHA-256 of each file. Every file is read back and compared before the position names it. The last
 * two rounds are kept: when a file of the latest one is missing, cut short or unreadable, resuming
 * falls back to the one before, with a warning that names the bad file.
 */
final class Checkpoints {
  private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
  static final String POSITION = "position.json";

  private final String stage;
  private final FileSystem fs;
  private final Path out;

  Checkpoints(String stage, FileSystem fs, Path out) {
    this.stage = stage;
    this.fs = Manifest.withoutChecksums(fs);
    this.out = out;
  }

  /** The round to resume from and every arm's model at it. */
  record Resumed(int round, Map<String, LanguageModel> models) {}

  static String fileName(int round) {
    return "checkpoint-" + round + ".zip";
  }

  boolean exists() {
    try {
      return fs.exists(new Path(out, POSITION));
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot read " + out, e);
    }
  }

  /**
   * Writes every arm's checkpoint of {@code round}, then the position naming it (the commit point:
   * a crash before it leaves the previous position and its files whole), then removes files older
   * than the previous round.
   */
  void write(Map<String, LanguageModel> models, int round) {
    JsonNode old = position();
    Map<String, Object> digests = new LinkedHashMap<>();
    for (Map.Entry<String, LanguageModel> e : models.entrySet()) {
      String rel = e.getKey() + "/" + fileName(round);
      digests.put(rel, ModelFiles.write(fs, new Path(out, rel), e.getValue()));
    }
    Map<String, Object> position = new LinkedHashMap<>();
    position.put("round", round);
    // The round kept before this one: the last position's, or (when that round was just written again,
    // after a resume fell back past it) the one the last position kept.
    int previous = old == null ? -1 : old.path("round").asInt() != round ? old.path("round").asInt()
        : old.path("previous").asInt(-1);
    if (previous >= 0) {
      position.put("previous", previous);
      old.path("sha256").fields().forEachRemaining(f -> {
        if (f.getKey().endsWith("/" + fileName(previous))) digests.putIfAbsent(f.getKey(), f.getValue().asText());
      });
    }
    position.put("sha256", digests);
    try {
      AtomicFiles.write(fs, new Path(out, POSITION), Manifest.json().writeValueAsBytes(position));
      for (String arm : models.keySet()) {
        for (var st : fs.listStatus(new Path(out, arm), p -> p.getName().matches("checkpoint-\\d+\\.zip"))) {
          if (!digests.containsKey(arm + "/" + st.getPath().getName())) fs.delete(st.getPath(), false);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot write checkpoint position in " + out, e);
    }
    LOG.info("{}: checkpoint of {} arm(s) at round {}", stage, models.size(), round);
  }

  /**
   * Every arm's model at the latest checkpoint whose files are all whole; {@code check} rejects a
   * model that does not belong to this run with a {@link UserError} (other shards, another conf).
   * Null when no checkpoint was written.
   */
  Resumed resume(List<String> arms, Consumer<LanguageModel> check) {
    JsonNode pos = position();
    if (pos == null) return null;
    List<Integer> rounds = new ArrayList<>(List.of(pos.path("round").asInt()));
    if (pos.has("previous")) rounds.add(pos.path("previous").asInt());
    String problem = null;
    for (int round : rounds) {
      if (problem != null) LOG.warn("{}: {}; resuming from the checkpoint of round {} instead", stage, problem, round);
      Map<String, LanguageModel> models = new LinkedHashMap<>();
      problem = null;
      for (String arm : arms) {
        Path file = new Path(new Path(out, arm), fileName(round));
        problem = damage(file, pos.path("sha256").path(arm + "/" + fileName(round)).asText(null), round);
        if (problem != null) break;
        LanguageModel m;
        try {
          m = ModelFiles.read(fs, file);
        } catch (UserError e) {
          problem = e.getMessage();
          break;
        }
        check.accept(m);
        models.put(arm, m);
      }
      if (problem == null) return new Resumed(round, models);
    }
    throw new UserError(stage + ": no usable checkpoint in " + out + ": " + problem
        + " (start again with --overwrite)");
  }

  /** What is wrong with a checkpoint file before it is loaded, or null. */
  private String damage(Path file, String expectedSha256, int round) {
    try {
      if (!fs.exists(file)) {
        return new Path(out, POSITION) + " names round " + round + " but " + file
            + " is missing (is this arm in the run being resumed?)";
      }
      if (expectedSha256 != null && !expectedSha256.equals(ModelFiles.sha256(fs, file))) {
        return file + " is damaged (its SHA-256 differs from the one recorded when it was written)";
      }
      return null;
    } catch (IOException e) {
      return file + " cannot be read (" + e.getMessage() + ")";
    }
  }

  private JsonNode position() {
    Path p = new Path(out, POSITION);
    try {
      if (!fs.exists(p)) return null;
      try (InputStream in = fs.open(p)) {
        return Manifest.json().readTree(in);
      }
    } catch (IOException e) {
      throw new UserError(p + ": not a readable checkpoint position (" + e.getMessage() + "); start again with --overwrite", e);
    }
  }
}
