package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The character embedding: each token's UTF-8 bytes run through an LSTM, whose state after the
 * token's last byte is projected to d_model. Output {@code [b, d, T]}, added to the token and
 * position embeddings.
 *
 * <p>Input is the token ids {@code [b, 1, T]}; the bytes come from a constant {@code [V, C]} table
 * (the char decomposition in vocab.parquet), right-aligned with PAD before short tokens. Pad steps
 * leave the LSTM state untouched (masked update), so the final state is the state at the token's
 * true length and padding is ignored exactly. Special tokens have no bytes: all pad, zero state.
 *
 * <p>DL4J-specific choices (see the notes on M2.1): the LSTM is unrolled over C steps with plain
 * ops (the fused lstmLayer op leaks native memory every step); bytes are embedded as
 * one-hot(257) x E because gather's backprop on a parameter fails; the input gets an exact-zero
 * gradient path because DL4J always asks for one.
 */
public class CharEncoderLayer extends SameDiffLayerFix {
  public static final int PAD = 256;

  public long d;
  public int maxBytes;
  public int byteEmbedding;
  public int hidden;
  public double initStd;
  /** [V][C] byte ids, right-aligned, PAD before; see {@link ByteTable}. */
  public int[][] table;

  protected CharEncoderLayer() {}

  public CharEncoderLayer(long d, int seqLen, int maxBytes, int byteEmbedding, int hidden, double initStd, int[][] table) {
    this.d = d;
    this.seqLen = seqLen;
    this.maxBytes = maxBytes;
    this.byteEmbedding = byteEmbedding;
    this.hidden = hidden;
    this.initStd = initStd;
    this.table = table;
  }

  @Override
  public boolean inputIsIndices() {
    return true;
  }

  @Override
  protected long outputWidth() {
    return d;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addWeightParam("byteEmbedding", PAD + 1, byteEmbedding);
    p.addWeightParam("lstmInput", byteEmbedding, 4L * hidden);   // gates i, f, g, o side by side
    p.addWeightParam("lstmRecurrent", hidden, 4L * hidden);
    p.addBiasParam("lstmBias", 4L * hidden);
    p.addWeightParam("proj", hidden, d);
    p.addBiasParam("projBias", d);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, initStd, Map.of());
    // Forget-gate bias 1, as in the published model: remember by default early in training.
    INDArray bias = params.get("lstmBias"); // DL4J keeps biases as [1, n] rows
    var forget = org.nd4j.linalg.indexing.NDArrayIndex.interval(hidden, 2L * hidden);
    (bias.rank() == 2 ? bias.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), forget) : bias.get(forget)).assign(1.0);
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable tokens, Map<String, SDVariable> p, SDVariable mask) {
    int c = maxBytes;
    long h = hidden;
    SDVariable ids = sd.reshape(tokens, -1).castTo(DataType.INT);                          // [N = b*T]
    SDVariable bytes = sd.gather(sd.constant("byteTable", Nd4j.createFromArray(table)), ids, 0); // [N, C]
    SDVariable oneHot = sd.oneHot(sd.reshape(bytes, -1), PAD + 1, -1, 1.0, 0.0, tokens.dataType()); // [N*C, 257]
    SDVariable real = sd.reshape(oneHot.get(SDIndex.all(), SDIndex.point(PAD)).rsub(1.0), -1, c); // [N, C] 1 = byte
    SDVariable x = sd.reshape(sd.mmul(oneHot, p.get("byteEmbedding")), -1, c, byteEmbedding);   // [N, C, e]

    SDVariable state = null;
    SDVariable cell = null;
    for (int t = 0; t < c; t++) {
      SDVariable xt = x.get(SDIndex.all(), SDIndex.point(t), SDIndex.all());            // [N, e]
      SDVariable m = sd.reshape(real.get(SDIndex.all(), SDIndex.point(t)), -1, 1);       // [N, 1]
      SDVariable gates = SdOps.dense(sd, xt, p.get("lstmInput"), p.get("lstmBias"));   // [N, 4h]
      if (state != null) gates = gates.add(sd.mmul(state, p.get("lstmRecurrent")));
      SDVariable in = sd.nn.sigmoid(gates.get(SDIndex.all(), SDIndex.interval(0L, h)));
      SDVariable candidate = sd.math.tanh(gates.get(SDIndex.all(), SDIndex.interval(2 * h, 3 * h)));
      SDVariable out = sd.nn.sigmoid(gates.get(SDIndex.all(), SDIndex.interval(3 * h, 4 * h)));
      boolean last = t == c - 1;
      if (cell == null) {
        // Zero initial state: no forget gate at t = 0. (SameDiff must not see unused variables: it
        // would take one for the loss, so nothing is computed that the output does not need.)
        SDVariable newCell = in.mul(candidate);
        state = out.mul(sd.math.tanh(newCell)).mul(m);
        if (!last) cell = newCell.mul(m);
      } else {
        SDVariable forget = sd.nn.sigmoid(gates.get(SDIndex.all(), SDIndex.interval(h, 2 * h)));
        SDVariable newCell = forget.mul(cell).add(in.mul(candidate));
        SDVariable keep = m.rsub(1.0);
        // A pad step carries state and cell through unchanged.
        state = out.mul(sd.math.tanh(newCell)).mul(m).add(state.mul(keep));
        if (!last) cell = newCell.mul(m).add(cell.mul(keep));
      }
    }
    SDVariable proj = SdOps.dense(sd, state, p.get("proj"), p.get("projBias"));         // [N, d]
    SDVariable result = SdOps.ncw(sd, proj, seqLen, d);                                  // [b, d, T]
    // Named explicitly: DL4J feeds the incoming gradient as "<output name>-grad".
    return sd.math.add("charEmbedding", result, tokens.sum().mul(0.0));
  }
}
