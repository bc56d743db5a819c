package org.charsight.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.charsight.common.Manifest;
import org.charsight.model.Arch;
import org.charsight.model.CharEncoderLayer;
import org.charsight.model.GptConfig;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * What the PyTorch peer needs to train the same model on the same minibatches: config.json (the
 * model's and optimiser's settings), windows.bin (the token windows, int32 little-endian) and, for
 * char arms, bytes.bin (the byte table the char encoder reads, [vocab, max_token_bytes], as built).
 */
final class PeerInputs {
  private PeerInputs() {}

  static void write(Path dir, GptConfig c, Arch arch, int batch, int[][][] windows, ComputationGraph graph)
      throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("arch", arch.confName);
    cfg.put("vocab", c.vocab());
    cfg.put("d", c.dModel());
    cfg.put("layers", c.layers());
    cfg.put("heads", c.heads());
    cfg.put("context", c.context());
    cfg.put("batch", batch);
    cfg.put("max_token_bytes", c.maxTokenBytes());
    cfg.put("byte_embedding", c.byteEmbedding());
    cfg.put("char_hidden", c.charHidden());
    cfg.put("learning_rate", c.learningRate());
    cfg.put("weight_decay", c.weightDecay());
    cfg.put("beta1", c.beta1());
    cfg.put("beta2", c.beta2());
    cfg.put("clip_norm", c.clipNorm());
    Files.write(dir.resolve("config.json"), Manifest.json().writeValueAsBytes(cfg));
    int n = 0;
    for (int[][] b : windows) for (int[] w : b) n += w.length;
    ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int[][] b : windows) for (int[] w : b) for (int id : w) buf.putInt(id);
    Files.write(dir.resolve("windows.bin"), buf.array());
    Files.deleteIfExists(dir.resolve("bytes.bin"));
    if (graph.getConfiguration().getVertices().get("charEncoder") instanceof LayerVertex lv
        && lv.getLayerConf().getLayer() instanceof CharEncoderLayer enc) {
      ByteBuffer t = ByteBuffer.allocate(4 * enc.table.length * enc.maxBytes).order(ByteOrder.LITTLE_ENDIAN);
      for (int[] row : enc.table) for (int v : row) t.putInt(v);
      Files.write(dir.resolve("bytes.bin"), t.array());
    }
  }
}
