package org.charsight.model;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.weights.WeightInitDistribution;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Builds every arm as one DL4J ComputationGraph, top to bottom in the order data flows:
 *
 * <pre>
 *   tokens [b, 1, T]
 *     token embedding (V -> d) + position embedding             every arm
 *     + char encoder (bytes -> LSTM -> d)                        char, char-shuffled
 *     + narrow token table (V -> e) -> linear (e -> d)           baseline-matched
 *     N x decoder block (pre-LN causal attention + MLP)
 *     final LayerNorm
 *     logits (d -> V) + masked sparse cross-entropy               labels [b, 2, T]
 * </pre>
 *
 * The byte arm is the baseline built on the bytes tokenizer; nothing here differs.
 */
public final class GptBuilder {
  /** The char arms' encoder vertex, whose output the probe also reads on its own. */
  static final String CHAR_ENCODER = "charEncoder";
  static final String FINAL_NORM = "finalNorm";
  static final String OUTPUT = "output";

  private GptBuilder() {}

  /** @param bytes the token -> bytes table; required for char arms, ignored otherwise */
  public static ComputationGraphConfiguration build(GptConfig c, ByteTable bytes) {
    // AdamW = Adam + decoupled weight decay (DL4J applies weightDecay after the updater, to
    // weights only: biases and LayerNorm gains are declared as biases and are not decayed).
    var schedule = new WarmupCosineSchedule(c.learningRate(), c.minLearningRate(), c.warmupSteps(), c.totalSteps());
    return build(c, bytes, Adam.builder().learningRateSchedule(schedule).beta1(c.beta1()).beta2(c.beta2()).epsilon(1e-8).build());
  }

  /** As {@link #build(GptConfig, ByteTable)} with another updater (gradient checks need NoOp). */
  public static ComputationGraphConfiguration build(GptConfig c, ByteTable bytes, IUpdater updater) {
    int t = c.context();
    NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder()
        .seed(c.seed())
        .dataType(c.dataType())
        .updater(updater)
        .weightDecay(c.weightDecay(), true)
        .trainingWorkspaceMode(WorkspaceMode.ENABLED)
        .inferenceWorkspaceMode(WorkspaceMode.ENABLED);
    if (c.clipNorm() > 0) {
      base.gradientNormalization(GradientNormalization.ClipL2PerLayer).gradientNormalizationThreshold(c.clipNorm());
    }
    var g = base.graphBuilder().addInputs("tokens");

    g.addLayer("tokenEmbedding", embedding(c.vocab(), c.dModel(), t, c.initStd()), "tokens");
    g.addLayer("positionEmbedding", new PositionEmbedding(c.dModel(), t, c.initStd()), "tokenEmbedding");
    String stream = "positionEmbedding";

    switch (c.arch()) {
      case CHAR, CHAR_SHUFFLED -> {
        if (bytes == null) throw new IllegalArgumentException(c.arch() + " needs the token byte table");
        ByteTable table = c.arch() == Arch.CHAR_SHUFFLED ? bytes.shuffled(c.seed()) : bytes;
        g.addLayer(CHAR_ENCODER, kernels(c, new CharEncoderLayer(c.dModel(), t, c.maxTokenBytes(), c.byteEmbedding(),
            c.charHidden(), c.initStd(), table.rows())), "tokens");
        g.addVertex("embeddings", new ElementWiseVertex(ElementWiseVertex.Op.Add), stream, CHAR_ENCODER);
        stream = "embeddings";
      }
      case BASELINE_MATCHED -> {
        int e = c.matchedWidth();
        g.addLayer("extraTokenEmbedding", embedding(c.vocab(), e, t, c.initStd()), "tokens");
        g.addLayer("extraProjection", new TokenProjection(e, c.dModel(), t, c.initStd()), "extraTokenEmbedding");
        g.addVertex("embeddings", new ElementWiseVertex(ElementWiseVertex.Op.Add), stream, "extraProjection");
        stream = "embeddings";
      }
      case BASELINE, BYTE -> { }
    }

    double residualStd = c.initStd() / Math.sqrt(2.0 * c.layers());
    for (int i = 0; i < c.layers(); i++) {
      // Dropout where the published model has it: attention weights and both residual projections.
      g.addLayer("block" + i, kernels(c, new DecoderBlock(c.dModel(), c.heads(), t, c.initStd(), residualStd, c.dropout())),
          stream);
      stream = "block" + i;
    }
    g.addLayer(FINAL_NORM, kernels(c, new FinalLayerNorm(c.dModel(), t)), stream);
    g.addLayer(OUTPUT, new SparseSoftmaxLoss(c.dModel(), c.vocab(), t, c.initStd(), c.kernels()), FINAL_NORM);
    ComputationGraphConfiguration conf = g.setOutputs(OUTPUT).build();
    if (!c.embeddingDecayTwice()) decayOnce(conf);
    return conf;
  }

  /**
   * DL4J M2.1 copies the global weight decay into each of its own layers and then appends it again
   * (LayerValidation removes repeats of L1 and L2 only), so the token tables would decay at twice
   * the rate of every other weight: AdamW as configured wants each entry once.
   */
  private static void decayOnce(ComputationGraphConfiguration conf) {
    for (GraphVertex v : conf.getVertices().values()) {
      if (v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseLayer b) {
        b.setRegularization(new ArrayList<>(new LinkedHashSet<>(b.getRegularization())));
        b.setRegularizationBias(new ArrayList<>(new LinkedHashSet<>(b.getRegularizationBias())));
      }
    }
  }

  /** The layer, set to run its elementwise work on the kernels model.kernels chose. */
  private static <L extends SameDiffLayerFix> L kernels(GptConfig c, L layer) {
    layer.vectorKernels = c.kernels() == Kernels.VECTOR;
    return layer;
  }

  private static EmbeddingSequenceLayer embedding(int vocab, long width, int seqLen, double std) {
    return new EmbeddingSequenceLayer.Builder()
        .nIn(vocab).nOut(width).inputLength(seqLen).hasBias(false)
        .outputDataFormat(RNNFormat.NCW)
        .weightInit(new WeightInitDistribution(new NormalDistribution(0, std)))
        .build();
  }
}
