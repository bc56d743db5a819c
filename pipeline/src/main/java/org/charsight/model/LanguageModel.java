package org.charsight.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.BiPredicate;
import java.util.function.IntPredicate;
import org.charsight.common.UserError;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * A built network with what it needs to be used and reloaded: its {@link GptConfig} and the bytes
 * of every token (the char decomposition). Saved as one zip: DL4J's network (config, parameters,
 * updater state) plus those two.
 */
public final class LanguageModel {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONFIG_ENTRY = "charsight-config";
  private static final String VOCAB_ENTRY = "charsight-vocab";

  private final GptConfig config;
  private final List<byte[]> vocabBytes;
  private final ComputationGraph graph;

  private LanguageModel(GptConfig config, List<byte[]> vocabBytes, ComputationGraph graph) {
    this.config = config;
    this.vocabBytes = List.copyOf(vocabBytes);
    this.graph = graph;
    FlatGradientUpdater.install(graph);
  }

  /** A freshly initialised model (seeded by the config). */
  public static LanguageModel create(GptConfig config, List<byte[]> vocabBytes) {
    return create(config, vocabBytes, null);
  }

  /**
   * @param occurs the token ids seen in the training data, among which the char-shuffled control
   *     permutes spellings (null: every id with bytes)
   */
  public static LanguageModel create(GptConfig config, List<byte[]> vocabBytes, BitSet occurs) {
    if (vocabBytes.size() != config.vocab()) {
      throw new IllegalArgumentException("vocab table has " + vocabBytes.size() + " rows, config says " + config.vocab());
    }
    ByteTable table = config.arch().readsBytes() ? ByteTable.of(vocabBytes, config.maxTokenBytes()).withOccurring(occurs) : null;
    ComputationGraph g = new ComputationGraph(GptBuilder.build(config, table));
    g.init();
    return new LanguageModel(config, vocabBytes, g);
  }

  /** The same model with another instance of its network (e.g. the one a Spark trainer returns). */
  public static LanguageModel wrap(LanguageModel like, ComputationGraph graph) {
    return new LanguageModel(like.config, like.vocabBytes, graph);
  }

  public GptConfig config() {
    return config;
  }

  public ComputationGraph graph() {
    return graph;
  }

  public List<byte[]> vocabBytes() {
    return vocabBytes;
  }

  /**
   * Gives every layer a new learning-rate schedule (warm-up to {@code peak}, cosine decay to
   * {@code floor} over {@code steps}) that starts at the network's current iteration: fine-tuning's
   * own rate, instead of the pretraining schedule's floor where a loaded model would otherwise stay.
   * The Adam moments are kept. Every layer gets an equal schedule, so DL4J's grouping of parameters
   * into updater blocks, and with it the layout of the saved updater state, does not change.
   */
  public void startLearningRateSchedule(double peak, double floor, int warmup, int steps) {
    ISchedule schedule = new WarmupCosineSchedule(peak, floor, warmup, steps, graph.getConfiguration().getIterationCount());
    // The configuration is what a Spark trainer serialises for its workers; the layers' own configs
    // are what the local updater reads. Set both (they are usually the same objects).
    for (GraphVertex v : graph.getConfiguration().getVertices().values()) {
      if (v instanceof LayerVertex lv) setSchedule(lv.getLayerConf().getLayer(), schedule);
    }
    for (org.deeplearning4j.nn.api.Layer l : graph.getLayers()) setSchedule(l.conf().getLayer(), schedule);
  }

  private static void setSchedule(Layer layer, ISchedule schedule) {
    List<IUpdater> updaters = layer instanceof BaseLayer b ? Arrays.asList(b.getIUpdater(), b.getBiasUpdater())
        : layer instanceof AbstractSameDiffLayer d ? Arrays.asList(d.getUpdater(), d.getBiasUpdater()) : List.of();
    for (IUpdater u : updaters) {
      if (u != null && u.hasLearningRate()) u.setLrAndSchedule(Double.NaN, schedule);
    }
  }

  /** Tokens longer than model.max_token_bytes, whose first bytes the char encoder does not see. */
  public int truncatedTokens() {
    return ByteTable.of(vocabBytes, config.maxTokenBytes()).truncated();
  }

  /** One optimisation step; returns the loss per counted token. */
  public double fit(DataSet batch) {
    graph.fit(batch);
    return graph.score() * batch.getFeatures().size(0) / Math.max(1, Batch.countedTokens(batch));
  }

  /**
   * Cross-entropy per counted token (nats), without training, from the model's probabilities.
   * Not from DL4J's score: that adds the weight-decay term, which divided by few counted tokens
   * (a task answer) would swamp the loss, and would make a batch's loss depend on its size.
   */
  public double loss(DataSet batch) {
    INDArray probs = probabilities(batch.getFeatures());                       // [b*T, V]
    INDArray labels = batch.getLabels();                                      // [b, 2, T]
    long b = labels.size(0);
    long t = labels.size(2);
    float[] ids = labels.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup('c')
        .castTo(DataType.FLOAT).data().asFloat();
    float[] weights = labels.get(NDArrayIndex.all(), NDArrayIndex.point(1), NDArrayIndex.all()).dup('c')
        .castTo(DataType.FLOAT).data().asFloat();
    double sum = 0;
    double counted = 0;
    for (int row = 0; row < b * t; row++) {
      if (weights[row] == 0) continue;
      // The softmax may round a tiny probability to 0; its loss is then that of the smallest float.
      double p = Math.max(probs.getDouble(row, (long) ids[row]), Float.MIN_NORMAL);
      sum -= weights[row] * Math.log(p);
      counted += weights[row];
    }
    return sum / Math.max(1, counted);
  }

  /** Next-token probabilities [b*T, V], row b*T + t for position t of sequence b. */
  public INDArray probabilities(INDArray features) {
    return graph.output(false, features)[0];
  }

  /**
   * The vector the first decoder block receives for each token at position 0: the sum of the input
   * embeddings (token, position, and the arm's own: char encoder, second table), one row per id.
   * What a linear probe can read from it is what the model's input holds about the token.
   */
  public double[][] inputEmbeddings(int[] ids) {
    return vectors(ids, graph.getConfiguration().getVertexInputs().get("block0").get(0));
  }

  /**
   * The char encoder's own output for each token at position 0 (char arms; null for the others):
   * what the LSTM passes on about the token's bytes before it is added to the token embedding. A
   * probe that reads letters here and not from {@link #inputEmbeddings} finds them drowned in the sum.
   */
  public double[][] charEncoderVectors(int[] ids) {
    return graph.getVertex(GptBuilder.CHAR_ENCODER) == null ? null : vectors(ids, GptBuilder.CHAR_ENCODER);
  }

  private double[][] vectors(int[] ids, String input) {
    int t = config.context();
    double[][] out = new double[ids.length][];
    for (int from = 0; from < ids.length; from += 256) {
      int n = Math.min(256, ids.length - from);
      float[] f = new float[n * t];
      // The whole row is the token: position 0 attends to nothing else, and no padding id is read.
      for (int i = 0; i < n; i++) Arrays.fill(f, i * t, (i + 1) * t, ids[from + i]);
      INDArray features = Nd4j.create(f, new long[] {n, 1, t}, 'c').castTo(config.dataType());
      // Forward only up to the embeddings: the blocks are not needed, and a vocabulary has many tokens.
      INDArray act = activationsTo(features, input);                                                // [n, d, T]
      if (act.rank() != 3 || act.size(1) != config.dModel()) {
        throw new IllegalStateException(input + " gives " + Arrays.toString(act.shape()) + ", expected [b, d, T]");
      }
      for (int i = 0; i < n; i++) {
        out[from + i] = act.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.point(0)).castTo(DataType.DOUBLE)
            .toDoubleVector();
      }
    }
    return out;
  }

  /**
   * The named vertex's activations in inference, the graph run only as far as needed. DL4J's
   * feedForward stops at a position in getLayers(), not at a vertex index, so this stops at the
   * first layer at or after the vertex in topological order (the vertex may be a sum, not a layer).
   */
  private INDArray activationsTo(INDArray features, String vertex) {
    org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = graph.getVertices();
    List<org.deeplearning4j.nn.api.Layer> layers = Arrays.asList(graph.getLayers());
    int target = graph.getVertex(vertex).getVertexIndex();
    boolean reached = false;
    for (int v : graph.topologicalSortOrder()) {
      reached |= v == target;
      if (reached && vertices[v].hasLayer()) {
        return graph.feedForward(new INDArray[] {features}, layers.indexOf(vertices[v].getLayer()), false).get(vertex);
      }
    }
    throw new IllegalStateException("no layer at or after vertex " + vertex);
  }

  /**
   * Greedy decoding: appends the most likely token until {@code stop} accepts one (it is kept) or
   * {@code maxNew} tokens were made. A prompt longer than the context keeps its last tokens.
   */
  public int[] generate(int[] prompt, int maxNew, IntPredicate stop) {
    if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
    int t = config.context();
    List<Integer> seq = new ArrayList<>();
    for (int id : prompt) seq.add(id);
    List<Integer> out = new ArrayList<>();
    for (int step = 0; step < maxNew; step++) {
      int from = Math.max(0, seq.size() - t);
      int n = seq.size() - from;
      float[] f = new float[t];
      for (int i = 0; i < n; i++) f[i] = seq.get(from + i);
      // Positions after n are padding; causal attention keeps them from affecting position n-1.
      int next = mostLikelyAt(Nd4j.create(f, new long[] {1, 1, t}, 'c').castTo(config.dataType()), new int[] {n - 1})[0];
      seq.add(next);
      out.add(next);
      if (stop.test(next)) break;
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Greedy decoding of many prompts at once, each answer the one {@link #generate} gives for it
   * alone. Every prompt sits at the start of its own row of the context, padded after: causal
   * attention keeps the padding from touching the prompt's positions, so a row's logits do not
   * depend on its neighbours and one forward pass serves the whole batch at every step. Rows that
   * stopped leave the batch. {@code stop} sees the row's index and the token.
   */
  public int[][] generate(int[][] prompts, int maxNew, BiPredicate<Integer, Integer> stop) {
    int t = config.context();
    List<List<Integer>> seqs = new ArrayList<>();
    List<List<Integer>> outs = new ArrayList<>();
    List<Integer> active = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      if (prompts[i].length == 0) throw new IllegalArgumentException("empty prompt at " + i);
      List<Integer> seq = new ArrayList<>();
      for (int id : prompts[i]) seq.add(id);
      seqs.add(seq);
      outs.add(new ArrayList<>());
      active.add(i);
    }
    for (int step = 0; step < maxNew && !active.isEmpty(); step++) {
      float[] f = new float[active.size() * t];
      int[] last = new int[active.size()];
      for (int r = 0; r < active.size(); r++) {
        List<Integer> seq = seqs.get(active.get(r));
        int from = Math.max(0, seq.size() - t);
        last[r] = seq.size() - from - 1;
        for (int i = from; i < seq.size(); i++) f[r * t + i - from] = seq.get(i);
      }
      int[] best = mostLikelyAt(Nd4j.create(f, new long[] {active.size(), 1, t}, 'c').castTo(config.dataType()), last);
      List<Integer> still = new ArrayList<>();
      for (int r = 0; r < active.size(); r++) {
        int row = active.get(r);
        int next = best[r];
        seqs.get(row).add(next);
        outs.get(row).add(next);
        if (!stop.test(row, next)) still.add(row);
      }
      active = still;
    }
    int[][] out = new int[prompts.length][];
    for (int i = 0; i < out.length; i++) out[i] = outs.get(i).stream().mapToInt(Integer::intValue).toArray();
    return out;
  }

  /**
   * The most likely next token of each sequence after position {@code at[b]}: the argmax of the
   * logits there, made for those positions only. Greedy decoding needs no probabilities, and
   * {@link #probabilities} makes them for every position, which at a large vocabulary is most of a
   * step (softmax over [b*T, V] where [b, V] logits are needed).
   */
  private int[] mostLikelyAt(INDArray features, int[] at) {
    INDArray h = activationsTo(features, GptBuilder.FINAL_NORM);                                  // [b, d, T]
    long t = h.size(2);
    int[] rows = new int[at.length];
    for (int b = 0; b < at.length; b++) rows[b] = (int) (b * t + at[b]);
    // One copy into rows [b*T, d] and one gather: per-row ND4J calls cost more than the math.
    INDArray x = h.permute(0, 2, 1).dup('c').reshape('c', h.size(0) * t, h.size(1)).getRows(rows);
    org.deeplearning4j.nn.api.Layer out = graph.getLayer(GptBuilder.OUTPUT);
    INDArray logits = Nd4j.gemm(x, out.getParam("unembed"), false, false).addiRowVector(out.getParam("unembedBias"));
    long[] best = logits.argMax(1).toLongVector();
    int[] ids = new int[best.length];
    for (int b = 0; b < ids.length; b++) ids[b] = (int) best[b];
    return ids;
  }

  public void save(File file) {
    try {
      ModelSerializer.writeModel(graph, file, true);
      ModelSerializer.addObjectToFile(file, CONFIG_ENTRY, JSON.writeValueAsString(config));
      ModelSerializer.addObjectToFile(file, VOCAB_ENTRY, vocabBytes.toArray(new byte[0][]));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save model to " + file, e);
    }
  }

  public static LanguageModel load(File file) {
    if (!file.isFile()) throw new UserError("model file not found: " + file);
    try {
      // Parameters, updater state and iteration count (the schedule's position) come back together.
      ComputationGraph g = ModelSerializer.restoreComputationGraph(file, true);
      String json = ModelSerializer.getObjectFromFile(file, CONFIG_ENTRY);
      byte[][] vocab = ModelSerializer.getObjectFromFile(file, VOCAB_ENTRY);
      return new LanguageModel(JSON.readValue(json, GptConfig.class), Arrays.asList(vocab), g);
    } catch (IOException e) {
      throw new UserError(file + ": not a charsight model (" + e.getMessage() + ")", e);
    }
  }
}
