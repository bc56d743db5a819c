package org.charsight.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.tasks.Tasks;
import org.charsight.train.Finetune;
import org.charsight.train.Pretrain;

/** Small shards and a tiny pretrained model, shared by the tests of every stage that needs them. */
public final class TrainingFixtures {
  private TrainingFixtures() {}

  /** A model and schedule that train in seconds on two local workers. */
  public static final String[] TINY = {"model.d_model=32", "model.layers=1", "model.heads=2", "model.max_token_bytes=4",
      "model.byte_embedding=8", "model.char_hidden=16", "model.optim.learning_rate=3e-3", "model.optim.warmup_steps=4",
      "model.optim.total_steps=200", "pretrain.batch_per_worker=4", "pretrain.averaging_frequency=2",
      "pretrain.val_every=2", "pretrain.checkpoint_every=2", "pretrain.val_windows=32"};

  /** Shards of the Moby-Dick excerpt with a 300-token BPE, context 32. */
  public static Path shards(SparkSession spark, Path dir) throws IOException {
    return shards(spark, dir, 32);
  }

  public static Path shards(SparkSession spark, Path dir, int context) throws IOException {
    String text;
    try (InputStream in = TrainingFixtures.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("loomings.txt"), text);
    TrainTokenizerRunner.train(spark, List.of(corpus.toString()), dir.resolve("tok"),
        "train_tokenizer.vocab_size=300", "train_tokenizer.min_chunk_count=1");
    PrepareRunner.prepare(spark, List.of(corpus.toString()), dir.resolve("shards"), false,
        "prepare.tokenizer=" + dir.resolve("tok"), "corpus.text.document=paragraphs", "prepare.val_fraction=0.15",
        "prepare.context=" + context);
    return dir.resolve("shards");
  }

  /** A fine-tuned study in miniature: shards, a pretrained baseline and char arm, reverse tasks, two fine-tuning runs. */
  public record Finetuned(Path shards, Path pretrain, Path tasks, List<Path> runs) {}

  /**
   * Fine-tunes both arms on {@code reverse} for 20 words, twice: 8 rounds with seed 1 ({@code ft}) and
   * 4 rounds of larger minibatches with seed 2 ({@code ft2}), so that evaluation pools two runs.
   */
  public static Finetuned finetuned(SparkSession spark, Path dir) throws IOException {
    Path shards = pretrainedWithTasks(spark, dir);
    CharsightConfig c = finetuneConf();
    Finetune.run(spark, Finetune.Options.from(c, dir.resolve("pre").toString(), dir.resolve("tasks").toString(),
        dir.resolve("ft").toString(), false));
    Finetune.run(spark, Finetune.Options.from(c.with("seed", 2).with("finetune.rounds", 4).with("finetune.batch_per_worker", 16),
        dir.resolve("pre").toString(), dir.resolve("tasks").toString(), dir.resolve("ft2").toString(), false));
    return new Finetuned(shards, dir.resolve("pre"), dir.resolve("tasks"), List.of(dir.resolve("ft"), dir.resolve("ft2")));
  }

  /**
   * What fine-tuning starts from: shards, a baseline and a char arm pretrained 2 rounds ({@code pre}) and
   * {@code reverse} tasks for 20 words ({@code tasks}). Returns the shards.
   */
  public static Path pretrainedWithTasks(SparkSession spark, Path dir) throws IOException {
    Path shards = shards(spark, dir, 64); // questions and answers need more than 32 tokens
    pretrain(spark, shards, dir.resolve("pre"), false, "pretrain.rounds=2", "pretrain.arms=[baseline, char]");
    Path words = Files.writeString(dir.resolve("words.txt"),
        String.join("\n", "apple", "banana", "cherry", "dragon", "eagle", "falcon", "garden", "harbor", "island", "jungle",
            "kettle", "lemon", "mango", "nectar", "ocean", "pepper", "quiet", "river", "sugar", "tiger"));
    CharsightConfig tc = CharsightConfig.load(null, List.of("tasks.families=[reverse]", "tasks.examples_per_word=4"));
    Tasks.run(spark, Tasks.Options.from(tc, shards.toString(), dir.resolve("tasks").toString(), false, words.toString()));
    return shards;
  }

  /** Fine-tuning of {@link #finetuned}'s first run: 8 rounds, validation every 4. */
  public static CharsightConfig finetuneConf() {
    return CharsightConfig.load(null, List.of("finetune.rounds=8", "finetune.batch_per_worker=4",
        "finetune.averaging_frequency=2", "finetune.val_every=4", "finetune.val_examples=16", "finetune.lm_fraction=0.1"));
  }

  /** Pretrains with {@link #TINY} and the given overrides. */
  public static void pretrain(SparkSession spark, Path shards, Path out, boolean resume, String... extra) {
    List<String> o = new ArrayList<>(List.of(TINY));
    o.addAll(List.of(extra));
    CharsightConfig c = CharsightConfig.load(null, o);
    Pretrain.run(spark, Pretrain.Options.from(c, shards.toString(), out.toString(), false, resume, null));
  }
}
