package org.charsight.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;

/** Small configurations and vocabularies for model tests. */
final class TinyModels {
  private TinyModels() {}

  static GptConfig config(Arch arch, int vocab, int context, int d, int layers, int heads, DataType type) {
    return new GptConfig(arch, vocab, context, d, layers, heads, 0.0, 0.02, 4, 4, 6, 3e-3, 3e-4, 20, 2000, 0.0, 0.9,
        0.95, 0.0, 42, type);
  }

  /** The network as DL4J builds it from charsight's configuration: DL4J's own updater, not the one-pass one. */
  static ComputationGraph dl4jNetwork(GptConfig config, List<byte[]> vocab) {
    ComputationGraph net = new ComputationGraph(GptBuilder.build(config, ByteTable.of(vocab, config.maxTokenBytes())));
    net.init();
    return net;
  }

  /** Id 0 is a special token (no bytes); others get 1..6 random lowercase bytes. */
  static List<byte[]> vocab(int size, long seed) {
    Random rnd = new Random(seed);
    List<byte[]> v = new ArrayList<>();
    v.add(new byte[0]);
    for (int i = 1; i < size; i++) {
      byte[] b = new byte[1 + rnd.nextInt(6)];
      for (int j = 0; j < b.length; j++) b[j] = (byte) ('a' + rnd.nextInt(26));
      v.add(b);
    }
    return v;
  }

  static int[][] randomWindows(Random rnd, int n, int len, int vocab) {
    int[][] w = new int[n][len];
    for (int[] row : w) for (int i = 0; i < len; i++) row[i] = rnd.nextInt(vocab);
    return w;
  }
}
