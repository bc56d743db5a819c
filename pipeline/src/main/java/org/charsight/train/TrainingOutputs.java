package org.charsight.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.AtomicFiles;
import org.charsight.common.Manifest;
import org.charsight.common.UserError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output directory of a training stage (pretrain, finetune), written in place so that a run can
 * resume: {@code <arm>/metrics.csv}, the checkpoints ({@link Checkpoints}), and last the final models
 * and {@code manifest.json}, whose presence says the stage finished. A fresh run that fails before its
 * first checkpoint leaves nothing behind; one that fails later keeps its checkpoints for --resume.
 */
final class TrainingOutputs {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingOutputs.class);

  private TrainingOutputs() {}

  /** The output's FileSystem, without Hadoop's .crc sidecars: these files are for people and other tools. */
  static FileSystem fileSystem(String stage, SparkSession spark, String out) {
    try {
      return Manifest.withoutChecksums(new Path(out).getFileSystem(spark.sparkContext().hadoopConfiguration()));
    } catch (IOException e) {
      throw new UserError(stage + ": cannot use output " + out + ": " + e.getMessage(), e);
    }
  }

  /**
   * Makes the output ready: refuses an existing one unless the user asked to replace or resume it,
   * and starts each arm's metrics file. Returns whether this run starts the directory afresh.
   */
  static boolean prepare(String stage, FileSystem fs, Path out, String given, boolean overwrite, boolean resume,
      List<String> arms, String metricsHeader, int rounds, String roundsKey) {
    try {
      boolean fresh = !resume || !fs.exists(out);
      if (fs.exists(out) && !resume) {
        if (!overwrite) {
          throw new UserError(stage + ": output already exists: " + given + " (pass --resume to continue it or --overwrite)");
        }
        fs.delete(out, true);
      }
      if (resume && fs.exists(new Path(out, Manifest.FILE))) {
        JsonNode done = Manifest.read(out.toString(), fs.getConf(), stage);
        if (done.path("rounds").asInt() >= rounds) {
          throw new UserError(stage + ": " + given + " already finished " + done.path("rounds").asInt()
              + " rounds; raise " + roundsKey + " to train further");
        }
      }
      fs.mkdirs(out);
      for (String arm : arms) {
        Path metrics = new Path(new Path(out, arm), "metrics.csv");
        if (!fs.exists(metrics)) {
          try (OutputStream os = fs.create(metrics, false)) {
            os.write((metricsHeader + "\n").getBytes(StandardCharsets.UTF_8));
          }
        }
      }
      return fresh;
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot prepare " + out, e);
    }
  }

  /**
   * After a failure: a run that started the directory and wrote no checkpoint removes it, so that
   * the corrected rerun is not refused; one with a checkpoint keeps it and says how to continue.
   */
  static void failed(String stage, FileSystem fs, Path out, boolean fresh) {
    try {
      if (new Checkpoints(stage, fs, out).exists()) {
        LOG.warn("{}: stopped; its checkpoints are kept in {}: continue with --resume", stage, out);
      } else if (fresh) {
        fs.delete(out, true);
      }
    } catch (IOException | RuntimeException cleanup) {
      LOG.warn("{}: could not clean up {} after the failure: {}", stage, out, cleanup.toString());
    }
  }

  /** Appends by rewriting: object stores have no append, and the file is small. */
  static void appendMetrics(String stage, FileSystem fs, Path file, String row) {
    try {
      byte[] old;
      try (InputStream in = fs.open(file)) {
        old = in.readAllBytes();
      }
      byte[] add = (row + "\n").getBytes(StandardCharsets.UTF_8);
      byte[] all = Arrays.copyOf(old, old.length + add.length);
      System.arraycopy(add, 0, all, old.length, add.length);
      AtomicFiles.write(fs, file, all);
    } catch (IOException e) {
      throw new UncheckedIOException(stage + ": cannot write " + file, e);
    }
  }

  /** Drops the rows logged after {@code round}: a resumed run trains them again. */
  static void trimMetrics(String stage, FileSystem fs, Path file, int round) {
    try {
      if (!fs.exists(file)) return;
      List<String> keep = new ArrayList<>();
      boolean dropped = false;
      try (var r = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          boolean header = keep.isEmpty();
          if (header || Integer.parseInt(line.substring(0, line.indexOf(','))) <= round) keep.add(line);
          else dropped = true;
        }
      }
      if (!dropped) return;
      AtomicFiles.write(fs, file, (String.join("\n", keep) + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new UserError(file + ": not a readable metrics file (" + e.getMessage() + "); start again with --overwrite", e);
    }
  }
}
