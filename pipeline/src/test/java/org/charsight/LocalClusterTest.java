package org.charsight;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.Manifest;
import org.charsight.common.ReachableOps;
import org.charsight.model.LanguageModel;
import org.charsight.shards.Prepare;
import org.charsight.testing.TrainTokenizerRunner;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.charsight.testing.PrepareRunner;
import org.charsight.testing.Shards;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainingFixtures;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stages on a real multi-process Spark: local-cluster[2,1,1024] starts two executor JVMs, so
 * documents, chunk counts, tokens and windows cross process boundaries through Spark's shuffle.
 * Each test also runs the stage on one local core and expects identical output.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalClusterTest {
  static final String CLUSTER = "local-cluster[2,1,1024]";

  @AfterAll
  static void stop() {
    SparkTestSession.stop();
  }

  /** Pseudo-words from syllables, seeded: many distinct chunks with a Zipf-like spread of counts. */
  static void writeGeneratedText(Path dir, int files, long seed) throws IOException {
    String[] syllables = {"ka", "lo", "mi", "ter", "an", "st", "ro", "ve", "qu", "ish", "ön", "dé", "th", "ng"};
    Random rnd = new Random(seed);
    Files.createDirectories(dir);
    for (int f = 0; f < files; f++) {
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < 3000; w++) {
        int len = 1 + (int) Math.min(4, Math.abs(rnd.nextGaussian() * 1.5));
        if (w > 0) sb.append(rnd.nextInt(12) == 0 ? ".\n" : " ");
        for (int s = 0; s < len; s++) sb.append(syllables[(int) Math.min(syllables.length - 1, Math.abs(rnd.nextGaussian() * 4))]);
      }
      Files.writeString(dir.resolve("gen-" + f + ".txt"), sb.toString());
    }
  }

  @Test
  @Order(1)
  void tokenizerTrainedOnTwoExecutorsEqualsOneExecutorRun(@TempDir Path dir) throws IOException {
    SparkSession cluster = SparkTestSession.get(CLUSTER);
    writeGeneratedText(dir.resolve("in"), 8, 21);
    String[] conf = {"train_tokenizer.vocab_size=700", "train_tokenizer.min_chunk_count=2", "corpus.partition_bytes=65536"};
    Map<String, Object> m = TrainTokenizerRunner.train(cluster, List.of(dir.resolve("in").toString()), dir.resolve("cluster"), conf);
    assertEquals(cluster.sparkContext().getExecutorIds().size(), 2);
    SparkSession local = SparkTestSession.get("local[1]");
    TrainTokenizerRunner.train(local, List.of(dir.resolve("in").toString()), dir.resolve("single"), conf);
    assertArrayEquals(Files.readAllBytes(dir.resolve("cluster/tokenizer.tiktoken")),
        Files.readAllBytes(dir.resolve("single/tokenizer.tiktoken")));
    assertEquals(442, Files.readAllLines(dir.resolve("cluster/tokenizer.tiktoken")).size() - 256);
    assertTrue(((Map<?, ?>) m.get("counts")).get("distinct_chunks") instanceof Number);
  }

  @Test
  @Order(3)
  void bothArmsPretrainAcrossTwoExecutorJvmsAndValidationLossFalls(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSession.get(CLUSTER);
    Path shards = TrainingFixtures.shards(spark, dir);
    TrainingFixtures.pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=8", "pretrain.arms=[baseline, char]",
        "pretrain.averaging=barrier");
    // The workers average through files between the two executor JVMs; DL4J's master through the driver.
    TrainingFixtures.pretrain(spark, shards, dir.resolve("dl4j"), false, "pretrain.rounds=8", "pretrain.arms=[baseline, char]",
        "pretrain.averaging=dl4j");
    for (String arm : new String[] {"baseline", "char"}) {
      List<String> rows = Files.readAllLines(dir.resolve("run/" + arm + "/metrics.csv"));
      double first = Double.parseDouble(rows.get(1).split(",")[4]);
      double last = Double.parseDouble(rows.get(rows.size() - 1).split(",")[4]);
      assertTrue(last < first, arm + " validation loss falls on the cluster: " + first + " -> " + last);
      LanguageModel barrier = LanguageModel.load(dir.resolve("run/" + arm + "/model.zip").toFile());
      LanguageModel dl4j = LanguageModel.load(dir.resolve("dl4j/" + arm + "/model.zip").toFile());
      assertArrayEquals(dl4j.graph().params().toFloatVector(), barrier.graph().params().toFloatVector(),
          arm + ": barrier averaging across JVMs trains DL4J's model exactly");
    }
  }

  @Test
  @Order(4)
  void pretrainingSurvivesKillingAnExecutorJvm(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSession.get(CLUSTER);
    Path shards = TrainingFixtures.shards(spark, dir);
    List<Long> killed = new java.util.concurrent.CopyOnWriteArrayList<>();
    // Kill one executor (kill -9 by pid) once the second training job is running.
    spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
      int trainingJobs;

      @Override
      public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
        String desc = e.properties() == null ? "" : e.properties().getProperty("spark.job.description", "");
        if (!desc.startsWith("train ") || ++trainingJobs != 2 || !killed.isEmpty()) return;
        new Thread(() -> {
          try {
            Thread.sleep(300);
            long pid = executorPids().get(0);
            killed.add(pid);
            new ProcessBuilder("kill", "-9", Long.toString(pid)).inheritIO().start().waitFor();
          } catch (Exception ex) {
            throw new IllegalStateException(ex);
          }
        }).start();
      }
    });
    // Barrier averaging: Spark reruns the whole barrier stage once the worker has started a replacement.
    TrainingFixtures.pretrain(spark, shards, dir.resolve("run"), false, "pretrain.rounds=6", "pretrain.arms=[baseline]",
        "pretrain.averaging=barrier");
    assertEquals(1, killed.size(), "an executor was killed during training");
    assertFalse(ProcessHandle.of(killed.get(0)).map(ProcessHandle::isAlive).orElse(false), "it is dead");
    List<String> rows = Files.readAllLines(dir.resolve("run/baseline/metrics.csv"));
    assertEquals(4, rows.size(), "all 3 chunks of 2 rounds completed: " + rows);
    assertTrue(Files.exists(dir.resolve("run/baseline/model.zip")));
    SparkTestSession.awaitExecutors(spark, 2); // the worker starts a replacement
    Map<Long, Boolean> wrapped = executorsWrapNd4j(spark);
    assertFalse(wrapped.containsKey(killed.get(0)), "tasks ran on the replacement: " + wrapped);
    assertEquals(2, wrapped.size(), "on two executors: " + wrapped);
    assertFalse(wrapped.containsValue(false), "the replacement wraps ND4J's executioner as it starts: " + wrapped);
  }

  /** Each executor JVM that runs one of eight short tasks: its pid, and whether ND4J's executioner is wrapped there. */
  static Map<Long, Boolean> executorsWrapNd4j(SparkSession spark) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Map<Long, Boolean> seen = new HashMap<>();
    for (String s : jsc.parallelize(List.of(1, 2, 3, 4, 5, 6, 7, 8), 8).map(x -> {
      Thread.sleep(200);
      return ProcessHandle.current().pid() + " " + ReachableOps.installed();
    }).distinct().collect()) {
      String[] f = s.split(" ");
      seen.put(Long.parseLong(f[0]), Boolean.parseBoolean(f[1]));
    }
    return seen;
  }

  @Test
  @Order(5)
  void tinyStudyEndToEndOnTwoExecutorJvms(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSession.get(CLUSTER);
    Path shards = TrainingFixtures.shards(spark, dir, 64);
    TrainingFixtures.pretrain(spark, shards, dir.resolve("pre"), false, "pretrain.rounds=2", "pretrain.arms=[baseline, char]");
    Path words = Files.writeString(dir.resolve("words.txt"), String.join("\n", "apple", "bench", "cider", "delta", "eagle",
        "flint", "grape", "house", "input", "joker", "kneel", "lemon", "mango", "night", "olive", "piano"));
    org.charsight.tasks.Tasks.run(spark, org.charsight.tasks.Tasks.Options.from(
        org.charsight.common.CharsightConfig.load(null, List.of("tasks.held_out_fraction=0.3")), shards.toString(),
        dir.resolve("tasks").toString(), false, words.toString()));
    org.charsight.train.Finetune.run(spark, org.charsight.train.Finetune.Options.from(
        org.charsight.common.CharsightConfig.load(null, List.of("finetune.rounds=2", "finetune.batch_per_worker=4",
            "finetune.averaging_frequency=2", "finetune.val_every=2", "finetune.val_examples=16")),
        dir.resolve("pre").toString(), dir.resolve("tasks").toString(), dir.resolve("ft").toString(), false));
    org.charsight.eval.Evaluate.run(spark, org.charsight.eval.Evaluate.Options.from(
        org.charsight.common.CharsightConfig.load(null, List.of("evaluate.max_examples_per_task_split=3",
            "evaluate.max_new_tokens=8", "evaluate.bootstrap_resamples=100")),
        List.of(dir.resolve("ft").toString()), List.of(dir.resolve("tasks").toString()), dir.resolve("eval").toString(), false));
    List<String> results = Files.readAllLines(dir.resolve("eval/results.csv"));
    for (String arm : new String[] {"baseline", "char"}) {
      for (org.charsight.tasks.CharTask t : org.charsight.tasks.CharTask.values()) {
        for (String split : new String[] {"val_train_words", "val_heldout", "val_nonce"}) {
          String prefix = arm + "," + t.confName + "," + split + ",all,";
          assertTrue(results.stream().anyMatch(l -> l.startsWith(prefix)), "a result for " + prefix);
        }
      }
    }
  }

  /** PIDs of this application's executor JVMs, found by their command line. */
  static List<Long> executorPids() throws IOException {
    List<Long> pids = new ArrayList<>();
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
          if (cmd.contains("CoarseGrainedExecutorBackend")) pids.add(Long.parseLong(p.getFileName().toString()));
        } catch (IOException gone) {
          // the process ended while we looked; it is not an executor we can kill
        }
      }
    }
    assertFalse(pids.isEmpty(), "no executor JVM found");
    return pids;
  }

  /** A corpus of many small files so that sorting and packing spread over both executors. */
  static List<String> writeCorpus(Path in) throws IOException {
    String loomings;
    try (InputStream s = LocalClusterTest.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      loomings = new String(s.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<String> paragraphs = PrepareRunner.paragraphs(loomings);
    Random rnd = new Random(11);
    List<String> docs = new ArrayList<>();
    for (int f = 0; f < 24; f++) {
      StringBuilder sb = new StringBuilder();
      int n = 1 + rnd.nextInt(4);
      for (int i = 0; i < n; i++) {
        if (i > 0) sb.append("\n\n");
        sb.append(paragraphs.get(rnd.nextInt(paragraphs.size())));
      }
      if (f % 5 == 0) sb.append("\nnaïve café — 東京 🚀 e\u0301");
      String text = sb.toString();
      Files.createDirectories(in);
      Files.writeString(in.resolve(String.format("doc-%02d.txt", f)), text + "\n");
      docs.add(PrepareRunner.wholeFile(text + "\n"));
    }
    return docs;
  }

  @Test
  @Order(2)
  void shardsFromTwoExecutorJvmsMatchASingleProcessEncode(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get(CLUSTER);
    Map<Long, Boolean> wrapped = executorsWrapNd4j(spark);
    List<Long> pids = new ArrayList<>(wrapped.keySet());
    assertEquals(2, pids.size(), "two executor processes: " + pids);
    assertFalse(pids.contains(ProcessHandle.current().pid()), "executors are not the driver JVM");
    assertEquals(Map.of(pids.get(0), true, pids.get(1), true), wrapped, "each executor wraps ND4J's executioner");
    assertTrue(ReachableOps.installed(), "so does the driver");

    List<String> docs = writeCorpus(dir.resolve("in"));
    Path out = dir.resolve("cluster");
    String[] conf = {"prepare.context=64", "prepare.val_fraction=0.25", "corpus.partition_bytes=65536",
        "prepare.shard_target_bytes=8192"};
    PrepareRunner.prepare(spark, List.of(dir.resolve("in").toString()), out, false, conf);

    // Total tokens: the same documents encoded in this one process, each followed by end-of-text.
    Tokenizer tok = new Tokenizers.Spec("gpt2").open();
    long expectedTokens = docs.stream().mapToLong(d -> tok.encode(d).length + 1L).sum();
    JsonNode m = Manifest.read(out.toString(), new Configuration(), "prepare");
    assertEquals(expectedTokens, m.at("/counts/train/tokens").asLong() + m.at("/counts/val/tokens").asLong());

    // Decoding the windows gives back the normalised documents, each encoded exactly as locally.
    Map<String, int[]> localEncode = new HashMap<>();
    for (String d : docs) localEncode.put(d, tok.encode(d));
    List<String> decoded = new ArrayList<>();
    for (String split : Prepare.SPLITS) {
      for (int[] ids : Shards.documents(Shards.stream(Shards.windows(spark, out.toString(), split)), tok.endOfText())) {
        String text = tok.decode(ids);
        assertArrayEquals(localEncode.get(text), ids, "tokens of a document differ from a local encode");
        decoded.add(text);
      }
    }
    List<String> expected = new ArrayList<>(docs);
    Collections.sort(expected);
    Collections.sort(decoded);
    assertEquals(expected, decoded);
    assertTrue(m.at("/counts/train/shards").asInt() > 1, "several shards were written");

    // The same input on one local core gives identical shards: the output does not depend on the cluster.
    List<List<Shards.WindowRow>> onCluster = new ArrayList<>();
    for (String split : Prepare.SPLITS) onCluster.add(Shards.windows(spark, out.toString(), split));
    SparkSession local = SparkTestSession.get("local[1]");
    Path single = dir.resolve("single");
    PrepareRunner.prepare(local, List.of(dir.resolve("in").toString()), single, false, conf);
    for (int s = 0; s < Prepare.SPLITS.length; s++) {
      List<Shards.WindowRow> a = onCluster.get(s);
      List<Shards.WindowRow> b = Shards.windows(local, single.toString(), Prepare.SPLITS[s]);
      assertEquals(a.size(), b.size());
      for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
    }
  }
}
