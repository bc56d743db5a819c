package org.charsight.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.charsight.common.CharsightConfig;
import org.charsight.model.Arch;
import org.charsight.model.Batch;
import org.charsight.model.GptConfig;
import org.charsight.model.LanguageModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training throughput and peak memory of one model configuration in this process: random tokens
 * (throughput does not depend on their values), 2 warm-up steps, then timed steps. Prints one
 * Markdown table row. Run once per configuration (bench/run model does) so peak RSS is per config.
 */
public final class ModelBenchmark {
  public static void main(String[] args) throws Exception {
    Arch arch = Arch.parse("--arch", args.length > 0 ? args[0] : "baseline");
    int vocab = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int context = 128;
    int batch = 16;
    // conf/defaults.conf's model (d=128, 4 layers, 4 heads; char encoder as configured there).
    GptConfig c = GptConfig.from(CharsightConfig.load(null, List.of("model.arch=" + arch.confName)), vocab, context);
    Random rnd = new Random(1);
    List<byte[]> bytes = new ArrayList<>();
    for (int i = 0; i < vocab; i++) {
      byte[] b = new byte[1 + rnd.nextInt(8)];
      for (int j = 0; j < b.length; j++) b[j] = (byte) ('a' + rnd.nextInt(26));
      bytes.add(b);
    }
    LanguageModel m = LanguageModel.create(c, bytes);
    int[][] w = new int[batch][context + 1];
    for (int[] row : w) for (int i = 0; i < row.length; i++) row[i] = rnd.nextInt(vocab);
    DataSet ds = Batch.of(w, context, DataType.FLOAT);
    for (int i = 0; i < 2; i++) m.fit(ds);
    long t0 = System.nanoTime();
    for (int i = 0; i < steps; i++) m.fit(ds);
    double perStep = (System.nanoTime() - t0) / 1e9 / steps;
    double tokensPerS = batch * context / perStep;
    System.out.printf("| %s | %d | %,d | %.2f | %.0f | %.2f |%n", arch.confName, vocab, m.graph().numParams(), perStep,
        tokensPerS, peakRssGb());
    System.out.printf("d=%d layers=%d heads=%d T=%d batch=%d; char: %d bytes, byte embedding %d, LSTM %d%n", c.dModel(),
        c.layers(), c.heads(), context, batch, c.maxTokenBytes(), c.byteEmbedding(), c.charHidden());
    System.out.printf("backend: %s, threads %s%n", Nd4j.getExecutioner().getClass().getSimpleName(),
        System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
  }

  /** VmHWM: the process's peak resident set, heap and ND4J's native memory together. */
  static double peakRssGb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0;
    }
    return Double.NaN;
  }
}
