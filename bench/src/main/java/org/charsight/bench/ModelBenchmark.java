package org.charsight.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.charsight.common.CharsightConfig;
import org.charsight.common.ReachableOps;
import org.charsight.model.Arch;
import org.charsight.model.Batch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.charsight.tokenize.Tokenizer;
import org.charsight.tokenize.Tokenizers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training throughput and peak memory of one model configuration in this process, on real text:
 * consecutive windows of a book tokenized with the given tokenizer (the char arm's cost depends on
 * how many distinct tokens a batch holds, so random ids would misstate it), warm-up steps, then
 * timed steps, each on new windows. Prints one Markdown table row. Run once per configuration
 * (bench/run model does) so peak RSS is per config.
 *
 * <p>Environment: {@code BENCH_MODEL} (space-separated conf overrides, e.g. {@code model.d_model=64}),
 * {@code BENCH_WARMUP_S} (seconds of warm-up steps before timing, default 0: two steps),
 * {@code BENCH_CONTEXT} and {@code BENCH_BATCH} (default 128 and 16); {@code BENCH_EXPORT=<dir>}
 * also writes the model's settings, the windows and the byte table there, for the PyTorch peer
 * ({@code bench/peers/torch_peer.py}) to train the same model on the same minibatches.
 * {@code BENCH_PROFILE=1} prints ND4J's op profiler over the timed steps, {@code BENCH_OP_SITES=1} the ND4J
 * calls per step other than products, by op and the line that made them. {@code BENCH_EXECUTIONER=plain} runs
 * ND4J's op executioner as it comes instead of wrapped as in every run ({@code ReachableOps}).
 */
public final class ModelBenchmark {
  public static void main(String[] args) throws Exception {
    Arch arch = Arch.parse("--arch", args.length > 0 ? args[0] : "baseline");
    String tokenizer = args.length > 1 ? args[1] : "gpt2";
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    Path text = Path.of(args.length > 3 ? args[3] : "data/corpus/moby-dick/moby-dick.txt");
    int context = Integer.parseInt(System.getenv().getOrDefault("BENCH_CONTEXT", "128"));
    int batch = Integer.parseInt(System.getenv().getOrDefault("BENCH_BATCH", "16"));
    if (!System.getenv().getOrDefault("BENCH_EXECUTIONER", "wrapped").equals("plain")) ReachableOps.install();
    Tokenizer tok = Tokenizers.parse("tokenizer", tokenizer).open();
    int vocab = tok.vocabSize();
    // conf/defaults.conf's model (d=128, 4 layers, 4 heads; char encoder as configured there), or BENCH_MODEL's.
    List<String> overrides = new ArrayList<>(List.of("model.arch=" + arch.confName));
    String extra = System.getenv().getOrDefault("BENCH_MODEL", "").trim();
    if (!extra.isEmpty()) overrides.addAll(List.of(extra.split("\\s+")));
    GptConfig c = GptConfig.from(CharsightConfig.load(null, overrides), vocab, context);
    List<byte[]> bytes = new ArrayList<>();
    for (int i = 0; i < vocab; i++) bytes.add(tok.tokenBytes(i));
    LanguageModel m = LanguageModel.create(c, bytes);
    int[] stream = tok.encode(Files.readString(text));
    List<DataSet> batches = new ArrayList<>();
    double distinct = 0;
    for (int b = 0; b < steps + 2; b++) {
      int[][] w = new int[batch][];
      java.util.Set<Integer> seen = new java.util.HashSet<>();
      for (int j = 0; j < batch; j++) {
        int from = (b * batch + j) * (context + 1);
        if (from + context + 1 > stream.length) throw new IllegalArgumentException(text + " is too short for " + steps + " steps");
        w[j] = Arrays.copyOfRange(stream, from, from + context + 1);
        for (int t = 0; t < context; t++) seen.add(w[j][t]);
      }
      distinct += seen.size() / (double) (steps + 2);
      batches.add(Batch.of(w, context, DataType.FLOAT));
    }
    String export = System.getenv("BENCH_EXPORT");
    if (export != null) PeerInputs.write(Path.of(export), c, arch, batch, windowsOf(batches, context), m.graph());
    // Warm-up: the two warm-up batches in turn until BENCH_WARMUP_S seconds have passed (twice at
    // least). A small model's step takes ~40 ms, so two steps time the JIT compiler, not the step.
    double warmupS = Double.parseDouble(System.getenv().getOrDefault("BENCH_WARMUP_S", "0"));
    long w0 = System.nanoTime();
    for (int i = 0; i < 2 || System.nanoTime() - w0 < warmupS * 1e9; i++) m.fit(batches.get(i % 2));
    // BENCH_PROFILE=1: ND4J's op profiler over the timed steps (time per op type; it slows every op a little).
    // BENCH_OP_SITES=1: instead, ND4J's non-product calls per step by op and calling line (a stack walk per call).
    boolean sites = "1".equals(System.getenv("BENCH_OP_SITES"));
    boolean profile = sites || "1".equals(System.getenv("BENCH_PROFILE"));
    Map<String, Integer> perSite = new HashMap<>();
    if (sites) org.nd4j.linalg.profiler.OpProfiler.getInstance().addListener(op -> perSite.merge(op.opName() + " @ " + callSite(), 1, Integer::sum));
    if (profile) Nd4j.getExecutioner().setProfilingMode(org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode.OPERATIONS);
    long t0 = System.nanoTime();
    for (int i = 0; i < steps; i++) m.fit(batches.get(2 + i));
    double perStep = (System.nanoTime() - t0) / 1e9 / steps;
    if (profile) {
      Nd4j.getExecutioner().setProfilingMode(org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode.DISABLED);
      if (!sites) org.nd4j.linalg.profiler.OpProfiler.getInstance().printOutDashboard();
    }
    if (sites) {
      System.out.printf("ND4J calls per step other than products (%d steps), by op and call site:%n", steps);
      perSite.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
          .forEach(e -> System.out.printf("%7.1f  %s%n", e.getValue() / (double) steps, e.getKey()));
    }
    double tokensPerS = batch * context / perStep;
    System.out.printf("| %s | %d | %,d | %.2f | %.0f | %.2f | %.0f of %d |%n", arch.confName, vocab, m.graph().numParams(),
        perStep, tokensPerS, peakRssGb(), distinct, batch * context);
    System.out.printf("d=%d layers=%d heads=%d T=%d batch=%d; char: %d bytes, byte embedding %d, LSTM %d; tokenizer %s, "
        + "%.0f distinct tokens per batch of %d%n", c.dModel(), c.layers(), c.heads(), context, batch, c.maxTokenBytes(),
        c.byteEmbedding(), c.charHidden(), tok.name(), distinct, batch * context);
    System.out.printf("backend: %s, threads %s%n", Nd4j.getExecutioner().getClass().getSimpleName(),
        System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
  }

  /** The first charsight or DL4J frame below ND4J: the line that asked for an op. */
  private static String callSite() {
    for (StackTraceElement e : new Throwable().getStackTrace()) {
      String c = e.getClassName();
      if (c.startsWith("org.charsight.model") || (c.startsWith("org.deeplearning4j") && !c.contains("Workspace"))) {
        return c.substring(c.lastIndexOf('.') + 1) + "." + e.getMethodName() + ":" + e.getLineNumber();
      }
    }
    return "?";
  }

  /** The token windows of the batches back as ids: [batches][batch][context + 1]. */
  private static int[][][] windowsOf(List<DataSet> batches, int context) {
    int[][][] out = new int[batches.size()][][];
    for (int b = 0; b < out.length; b++) {
      var f = batches.get(b).getFeatures();
      var l = batches.get(b).getLabels();
      int rows = (int) f.size(0);
      out[b] = new int[rows][context + 1];
      for (int r = 0; r < rows; r++) {
        for (int t = 0; t < context; t++) out[b][r][t] = f.getInt(r, 0, t);
        out[b][r][context] = l.getInt(r, 0, context - 1);
      }
    }
    return out;
  }

  /** VmHWM: the process's peak resident set, heap and ND4J's native memory together. */
  static double peakRssGb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
    }
    return Double.NaN;
  }
}
