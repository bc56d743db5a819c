package org.charsight.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Unique;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The character embedding: each token's UTF-8 bytes run through an LSTM, whose state after the
 * token's last byte is projected to d_model. Output {@code [b, d, T]}, added to the token and
 * position embeddings.
 *
 * <p>Input is the token ids {@code [b, 1, T]}; the bytes come from a constant {@code [V, C]} table
 * (the char decomposition in vocab.parquet), right-aligned with PAD before short tokens. Pad steps
 * keep the LSTM state at exactly zero (closed input gate), so the final state is the state after the
 * token's own bytes and padding is ignored exactly. Special tokens have no bytes: all pad, zero state.
 *
 * <p>The LSTM runs once per distinct token id of the batch (ND4J's unique), and a selection
 * matmul copies the results to the positions: in text a batch repeats its tokens, so this is about
 * a third of the work of running it per position (bench/README.md).
 *
 * <p>DL4J-specific choices (see the notes on M2.1): the LSTM is unrolled over C steps with plain
 * ops (the fused lstmLayer op leaks native memory every step); bytes are embedded as
 * one-hot(257) x E and positions are selected by a 0/1 matmul because gather's backprop fails;
 * the input gets an exact-zero gradient path because DL4J always asks for one.
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
    var forget = NDArrayIndex.interval(hidden, 2L * hidden);
    (bias.rank() == 2 ? bias.get(NDArrayIndex.all(), forget) : bias.get(forget)).assign(1.0);
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable tokens, Map<String, SDVariable> p, SDVariable mask) {
    int c = maxBytes;
    long h = hidden;
    SDVariable ids = sd.reshape(tokens, -1).castTo(DataType.INT);                          // [N = b*T]
    // Once per distinct token of the batch, not per position: in text a batch repeats its tokens
    // (2,048 positions hold about 780 distinct ones), and the LSTM is the arm's cost.
    SDVariable[] unique = new Unique(sd, ids).outputVariables();
    SDVariable distinct = unique[0];                                                        // [U] ids
    SDVariable position = unique[1];                                                        // [N] -> 0..U-1
    SDVariable bytes = sd.gather(sd.constant("byteTable", Nd4j.createFromArray(table)), distinct, 0); // [U, C]
    SDVariable oneHot = sd.oneHot(sd.reshape(bytes, -1), PAD + 1, -1, 1.0, 0.0, tokens.dataType()); // [U*C, 257]
    // The input side of every gate, for all C steps in one matmul; the loop keeps only what must be
    // sequential.
    SDVariable xGates = SdOps.dense(sd, sd.mmul(oneHot, p.get("byteEmbedding")), p.get("lstmInput"), p.get("lstmBias"));
    // Pad steps close the input gate. Bytes are right-aligned, so pads come first, while state and
    // cell are still zero: with no input they stay exactly zero (f * 0 + 0 * g, o * tanh(0)) and
    // the token's first real byte starts from the zero state, as if the pads were not there. No
    // per-step masking needed. -1e4 saturates the sigmoid to exactly 0 in float and double, and
    // its gradient with it.
    SDVariable padRows = oneHot.get(SDIndex.all(), SDIndex.interval(PAD, PAD + 1));          // [U*C, 1]
    xGates = sd.reshape(xGates.add(padRows.mul(sd.constant("closeInputGate", closeInputGate(h, tokens.dataType())))),
        -1, c, 4 * h);                                                                        // [U, C, 4h]

    // unstack and split (not strided slices): their backward passes are one stack / concat, where a
    // slice's would fill a zero array of the whole input per step.
    SDVariable[] steps = sd.unstack(xGates, 1, c);                                           // C x [U, 4h]
    SDVariable state = null;
    SDVariable cell = null;
    for (int t = 0; t < c; t++) {
      SDVariable out;
      if (state == null) {
        // Zero initial state: no recurrent term and no forget gate at t = 0. Only what the output
        // needs is computed: SameDiff would take an unused variable for the loss.
        SDVariable gates = steps[t];                                                           // i, f, g, o
        SDVariable in = sd.nn.sigmoid(gates.get(SDIndex.all(), SDIndex.interval(0L, h)));
        SDVariable candidate = sd.math.tanh(gates.get(SDIndex.all(), SDIndex.interval(2 * h, 3 * h)));
        out = sd.nn.sigmoid(gates.get(SDIndex.all(), SDIndex.interval(3 * h, 4 * h)));
        cell = in.mul(candidate);
      } else {
        SDVariable[] g = sd.split(steps[t].add(sd.mmul(state, p.get("lstmRecurrent"))), 4, 1);  // i, f, g, o
        cell = sd.nn.sigmoid(g[1]).mul(cell).add(sd.nn.sigmoid(g[0]).mul(sd.math.tanh(g[2])));
        out = sd.nn.sigmoid(g[3]);
      }
      state = out.mul(sd.math.tanh(cell));
    }
    // Back to positions by a [N, U] selection matrix: gather here fails the gradient check on M2.1
    // (repeated rows). Row numbers are a cumulative sum of ones: sizeAt, range and onesLike log a
    // warning each time the graph is built.
    DataType type = tokens.dataType();
    SDVariable rows = sd.cumsum(distinct.castTo(type).mul(0.0).add(1.0), false, false, 0).sub(1.0); // [U] 0..U-1
    SDVariable select = sd.eq(sd.reshape(position.castTo(type), -1, 1), sd.reshape(rows, 1, -1)).castTo(type); // [N, U]
    SDVariable proj = sd.mmul(select, SdOps.dense(sd, state, p.get("proj"), p.get("projBias")));   // [N, d]
    SDVariable result = SdOps.ncw(sd, proj, seqLen, d);                                  // [b, d, T]
    // Named explicitly: DL4J feeds the incoming gradient as "<output name>-grad".
    return sd.math.add("charEmbedding", result, tokens.sum().mul(0.0));
  }

  /** [1, 4h]: -1e4 on the input gate, 0 elsewhere. */
  private static INDArray closeInputGate(long h, DataType type) {
    INDArray row = Nd4j.zeros(type, 1, 4 * h);
    row.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(-1e4);
    return row;
  }
}
