package org.charsight.model;

import java.util.List;
import org.charsight.common.CharsightConfig;
import org.charsight.common.UserError;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Every hyperparameter of a model, in one place (conf section {@code model}).
 *
 * @param vocab tokenizer vocabulary size (from the shards)
 * @param context tokens per sequence (from the shards)
 * @param dModel residual stream width
 * @param dropout in training, on attention weights and on both projections into the residual stream
 * @param maxTokenBytes bytes per token the char encoder reads (longer tokens keep their last bytes)
 * @param byteEmbedding width of a byte's embedding in the char encoder
 * @param charHidden LSTM width of the char encoder
 * @param clipNorm per-layer gradient L2 norm limit (DL4J has no global-norm clipping); 0 = off
 * @param kernels what computes the elementwise work (ND4J's ops, or the JDK's vector API; {@link Kernels})
 * @param embeddingDecayTwice the token tables decay at twice {@code weightDecay}, as DL4J M2.1 has it on its own
 *     (see {@link GptBuilder}); only to reproduce runs made before charsight undid that
 */
public record GptConfig(
    Arch arch,
    int vocab,
    int context,
    int dModel,
    int layers,
    int heads,
    double dropout,
    double initStd,
    int maxTokenBytes,
    int byteEmbedding,
    int charHidden,
    double learningRate,
    double minLearningRate,
    int warmupSteps,
    int totalSteps,
    double weightDecay,
    double beta1,
    double beta2,
    double clipNorm,
    long seed,
    DataType dataType,
    Kernels kernels,
    Boolean embeddingDecayTwice) {

  public GptConfig {
    // Models saved before model.kernels existed were trained with ND4J's; those saved before
    // model.optim.embedding_decay_twice existed, with DL4J's doubled decay.
    if (kernels == null) kernels = Kernels.ND4J;
    if (embeddingDecayTwice == null) embeddingDecayTwice = true;
  }

  /** A configuration whose every weight decays at {@code weightDecay}. */
  public GptConfig(Arch arch, int vocab, int context, int dModel, int layers, int heads, double dropout, double initStd,
      int maxTokenBytes, int byteEmbedding, int charHidden, double learningRate, double minLearningRate, int warmupSteps,
      int totalSteps, double weightDecay, double beta1, double beta2, double clipNorm, long seed, DataType dataType,
      Kernels kernels) {
    this(arch, vocab, context, dModel, layers, heads, dropout, initStd, maxTokenBytes, byteEmbedding, charHidden,
        learningRate, minLearningRate, warmupSteps, totalSteps, weightDecay, beta1, beta2, clipNorm, seed, dataType,
        kernels, false);
  }

  /** A configuration on ND4J's kernels. */
  public GptConfig(Arch arch, int vocab, int context, int dModel, int layers, int heads, double dropout, double initStd,
      int maxTokenBytes, int byteEmbedding, int charHidden, double learningRate, double minLearningRate, int warmupSteps,
      int totalSteps, double weightDecay, double beta1, double beta2, double clipNorm, long seed, DataType dataType) {
    this(arch, vocab, context, dModel, layers, heads, dropout, initStd, maxTokenBytes, byteEmbedding, charHidden,
        learningRate, minLearningRate, warmupSteps, totalSteps, weightDecay, beta1, beta2, clipNorm, seed, dataType,
        Kernels.ND4J);
  }

  public static GptConfig from(CharsightConfig c, int vocab, int context) {
    Arch arch = Arch.parse("model.arch", c.string("model.arch"));
    int d = c.intAtLeast("model.d_model", 1);
    int heads = c.intAtLeast("model.heads", 1);
    if (d % heads != 0) throw new UserError("model.heads: " + heads + " does not divide model.d_model=" + d);
    double dropout = c.number("model.dropout");
    if (dropout < 0 || dropout >= 1) throw new UserError("model.dropout: expected a number in [0, 1), got " + dropout);
    double lr = c.number("model.optim.learning_rate");
    if (!(lr > 0)) throw new UserError("model.optim.learning_rate: expected a number above 0, got " + lr);
    double minLr = c.number("model.optim.min_learning_rate");
    if (!(minLr >= 0 && minLr <= lr)) {
      throw new UserError("model.optim.min_learning_rate: expected a number from 0 to model.optim.learning_rate (" + lr
          + "), got " + minLr);
    }
    return new GptConfig(arch, vocab, context, d, c.intAtLeast("model.layers", 1), heads, dropout,
        positive(c, "model.init_std"), c.intAtLeast("model.max_token_bytes", 1), c.intAtLeast("model.byte_embedding", 1),
        c.intAtLeast("model.char_hidden", 1), lr, minLr, c.intAtLeast("model.optim.warmup_steps", 0),
        c.intAtLeast("model.optim.total_steps", 1), atLeastZero(c, "model.optim.weight_decay"), beta(c, "model.optim.beta1"),
        beta(c, "model.optim.beta2"), atLeastZero(c, "model.optim.clip_norm"), c.longAtLeast("seed", Long.MIN_VALUE),
        DataType.FLOAT, Kernels.parseFor("model.kernels", c.string("model.kernels"), Kernels.vectorApiPresent(),
            Kernels.cpuBackend()), c.bool("model.optim.embedding_decay_twice"));
  }

  /**
   * Every model value the conf alone decides, checked for each arm before any data is read: a
   * wrong one must fail in a second with its key, not after Spark has started.
   */
  public static void check(CharsightConfig c, List<Arch> arms) {
    for (Arch a : arms) from(c.with("model.arch", a.confName), 1, 1);
  }

  private static double positive(CharsightConfig c, String key) {
    double v = c.number(key);
    if (!(v > 0)) throw new UserError(key + ": expected a number above 0, got " + v);
    return v;
  }

  private static double atLeastZero(CharsightConfig c, String key) {
    double v = c.number(key);
    if (!(v >= 0)) throw new UserError(key + ": expected a number >= 0, got " + v);
    return v;
  }

  private static double beta(CharsightConfig c, String key) {
    double v = c.number(key);
    if (!(v >= 0 && v < 1)) throw new UserError(key + ": expected a number in [0, 1), got " + v);
    return v;
  }

  public GptConfig withArch(Arch a) {
    return new GptConfig(a, vocab, context, dModel, layers, heads, dropout, initStd, maxTokenBytes, byteEmbedding,
        charHidden, learningRate, minLearningRate, warmupSteps, totalSteps, weightDecay, beta1, beta2, clipNorm, seed,
        dataType, kernels, embeddingDecayTwice);
  }

  // ---- parameter counts in closed form (tests check them against the built network) ----

  /** Embeddings, blocks, final LayerNorm and output layer: what every arm has. */
  public long baselineParameters() {
    long v = vocab;
    long d = dModel;
    long perBlock = 2 * d + (4 * d * d + 4 * d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d);
    return v * d + (long) context * d + layers * perBlock + 2 * d + d * v + v;
  }

  /** Byte embedding, LSTM and projection of the char encoder. */
  public long charEncoderParameters() {
    long e = byteEmbedding;
    long h = charHidden;
    return (CharEncoderLayer.PAD + 1) * e + e * 4 * h + h * 4 * h + 4 * h + h * dModel + dModel;
  }

  /** Width of the matched control's second token table, chosen to match the char encoder's size. */
  public int matchedWidth() {
    return (int) Math.max(1, Math.round((double) (charEncoderParameters() - dModel) / (vocab + dModel)));
  }

  public long matchedParameters(int width) {
    return (long) vocab * width + (long) width * dModel + dModel;
  }

  public long parameters() {
    return baselineParameters() + switch (arch) {
      case BASELINE, BYTE -> 0;
      case CHAR, CHAR_SHUFFLED -> charEncoderParameters();
      case BASELINE_MATCHED -> matchedParameters(matchedWidth());
    };
  }
}
