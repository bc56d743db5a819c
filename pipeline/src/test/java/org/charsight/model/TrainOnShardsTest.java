package org.charsight.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.charsight.common.CharsightConfig;
import org.charsight.shards.ShardSet;
import org.charsight.testing.PrepareRunner;
import org.charsight.testing.SparkTestSession;
import org.charsight.testing.TrainTokenizerRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/** The whole local path: corpus -> tokenizer -> shards -> char model, one process, loss falls. */
class TrainOnShardsTest {

  @Test
  void smallCharModelTrainedOnRealShardsLowersValidationLoss(@TempDir Path dir) throws IOException {
    SparkSession spark = SparkTestSession.get("local[2]");
    String text;
    try (InputStream in = TrainOnShardsTest.class.getResourceAsStream("/corpus/moby-dick-loomings.txt")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Path corpus = Files.writeString(Files.createDirectories(dir.resolve("corpus")).resolve("loomings.txt"), text);
    TrainTokenizerRunner.train(spark, List.of(corpus.toString()), dir.resolve("tok"), "train_tokenizer.vocab_size=400",
        "train_tokenizer.min_chunk_count=1");
    PrepareRunner.prepare(spark, List.of(corpus.toString()), dir.resolve("shards"), false,
        "prepare.tokenizer=" + dir.resolve("tok"), "corpus.text.document=paragraphs", "prepare.val_fraction=0.15",
        "prepare.context=32");

    ShardSet shards = ShardSet.open(spark, dir.resolve("shards").toString());
    assertEquals(400, shards.vocabSize());
    CharsightConfig conf = CharsightConfig.load(null, List.of("model.arch=char", "model.d_model=48", "model.layers=2",
        "model.heads=4", "model.max_token_bytes=8", "model.byte_embedding=8", "model.char_hidden=32",
        "model.optim.learning_rate=3e-3", "model.optim.warmup_steps=10", "model.optim.total_steps=120"));
    GptConfig c = GptConfig.from(conf, shards.vocabSize(), shards.context());
    LanguageModel m = LanguageModel.create(c, shards.vocabBytes());

    List<int[]> train = shards.firstWindows("train", 10_000);
    List<int[]> val = shards.firstWindows("val", 16);
    assertTrue(train.size() > 50 && val.size() >= 4, train.size() + " train, " + val.size() + " val windows");
    DataSet valBatch = Batch.of(val.toArray(int[][]::new), c.context(), DataType.FLOAT);
    double before = m.loss(valBatch);
    java.util.Random rnd = new java.util.Random(1);
    for (int step = 0; step < 120; step++) {
      int[][] b = new int[16][];
      for (int i = 0; i < b.length; i++) b[i] = train.get(rnd.nextInt(train.size()));
      m.fit(Batch.of(b, c.context(), DataType.FLOAT));
    }
    double after = m.loss(valBatch);
    assertTrue(before > 5.5, "an untrained model is near ln(400) = 6.0: " + before);
    assertTrue(after < before - 1.0, "validation loss fell: " + before + " -> " + after);
  }
}
