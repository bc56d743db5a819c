package org.charsight.model;

import java.util.HashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Unique;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

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
 *
 * <p>That graph is the layer's definition; the network runs {@link Impl}, the same equations in
 * plain ND4J with backpropagation through time written out (one forward pass per training step,
 * the distinct ids found in Java, byte rows and positions gathered directly), unless
 * {@link #sameDiffReference}. Tests compare the two.
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

  @Override
  protected Layer handWritten(NeuralNetConfiguration conf, DataType dataType) {
    return new Impl(conf, dataType);
  }

  /** The encoder's equations with backpropagation through time written out; see the class comment. */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    private RowOps ops;
    /** Of the last forward pass: each position's row among the distinct ids, and each byte row's byte id. */
    private int[] positionRow;
    private int[] byteIds;
    private int distinctCount;
    /** Kept between steps: the position and byte-row gradients as doubles, summed per id in backward. */
    private double[] dRowValues;
    private double[] dEmbeddedValues;

    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    private CharEncoderLayer c() {
      return (CharEncoderLayer) layerConf();
    }

    /** Gate columns of [rows, 4h]: 0 input, 1 forget, 2 candidate, 3 output. */
    private static INDArray gate(INDArray gates, int which, long h) {
      return gates.get(NDArrayIndex.all(), NDArrayIndex.interval(which * h, (which + 1) * h));
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(false);
      CharEncoderLayer c = c();
      long b = input.size(0);
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {b, c.d, c.seqLen}, 'c');
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        if (ops == null) ops = new RowOps(dataType, c.vectorKernels);
        INDArray state = lstm();
        INDArray proj = ops.array("proj", distinctCount, c.d);
        ops.dense(state, paramTable.get("proj"), paramTable.get("projBias"), proj);
        RowOps.ncwOf(Nd4j.pullRows(proj, 1, positionRow), out);
      }
      return out;
    }

    /**
     * The input's distinct ids in order of first appearance (the first {@link #distinctCount} entries), with
     * each position's row among them in {@link #positionRow}.
     */
    private int[] distinctIds() {
      CharEncoderLayer c = c();
      double[] ids = input.reshape(input.length()).toDoubleVector();
      Map<Integer, Integer> rowOf = new HashMap<>();
      positionRow = new int[ids.length];
      int[] distinct = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        int id = (int) ids[i];
        if (id < 0 || id >= c.table.length) {
          throw new IllegalArgumentException("token id " + id + " is outside the byte table of " + c.table.length);
        }
        Integer row = rowOf.get(id);
        if (row == null) {
          row = rowOf.size();
          rowOf.put(id, row);
          distinct[row] = id;
        }
        positionRow[i] = row;
      }
      distinctCount = rowOf.size();
      return distinct;
    }

    /** Runs the LSTM over the bytes of each distinct id; returns the final states [U, h]. */
    private INDArray lstm() {
      CharEncoderLayer c = c();
      int steps = c.maxBytes;
      long h = c.hidden;
      int[] distinct = distinctIds();
      int u = distinctCount;
      byteIds = new int[u * steps];
      double[] close = new double[u * steps];
      for (int r = 0; r < u; r++) {
        for (int t = 0; t < steps; t++) {
          byteIds[r * steps + t] = c.table[distinct[r]][t];
          // Pad steps close the input gate (see the graph's comment): state and cell stay exactly zero.
          if (byteIds[r * steps + t] == PAD) close[r * steps + t] = -1e4;
        }
      }
      INDArray embedded = ops.array("embedded", (long) u * steps, c.byteEmbedding).assign(
          Nd4j.pullRows(paramTable.get("byteEmbedding"), 1, byteIds));
      INDArray xGates = ops.array("xGates", (long) u * steps, 4 * h);
      ops.dense(embedded, paramTable.get("lstmInput"), paramTable.get("lstmBias"), xGates);
      gate(xGates, 0, h).addiColumnVector(Nd4j.createFromArray(close).castTo(dataType).reshape(-1, 1));

      INDArray state = null;
      INDArray cell = null;
      for (int t = 0; t < steps; t++) {
        INDArray acts = ops.array("acts" + t, u, 4 * h);
        Layouts.stepRows(xGates, steps, t, acts, true);
        if (state != null) Nd4j.gemm(state, paramTable.get("lstmRecurrent"), acts, false, false, 1.0, 1.0);
        INDArray newCell = ops.array("cell" + t, u, h);
        INDArray tanhCell = ops.array("tanhCell" + t, u, h);
        INDArray newState = ops.array("state" + t, u, h);
        if (ops.vector(acts, cell, newCell, tanhCell, newState)) {
          VectorKernels.lstmStep(acts, cell, newCell, tanhCell, newState);
        } else {
          Transforms.sigmoid(gate(acts, 0, h), false);
          Transforms.sigmoid(gate(acts, 1, h), false);
          Transforms.tanh(gate(acts, 2, h), false);
          Transforms.sigmoid(gate(acts, 3, h), false);
          newCell.assign(gate(acts, 0, h)).muli(gate(acts, 2, h));
          if (cell != null) newCell.addi(gate(acts, 1, h).mul(cell));
          Transforms.tanh(tanhCell.assign(newCell), false);
          newState.assign(tanhCell).muli(gate(acts, 3, h));
        }
        cell = newCell;
        state = newState;
      }
      return state;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      CharEncoderLayer c = c();
      int steps = c.maxBytes;
      long h = c.hidden;
      int u = distinctCount;
      Map<String, INDArray> p = paramTable;
      Map<String, INDArray> g = gradTable;
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        // Positions back to distinct ids: each id's gradient is the sum over the positions holding it.
        INDArray dRows = RowOps.rowsOf(epsilon, ops.array("dRows", positionRow.length, c.d));
        double[] dr = Layouts.doubles(dRows, dRowValues);
        dRowValues = dr;
        double[] dp = new double[(int) (u * c.d)];
        for (int i = 0; i < positionRow.length; i++) {
          int base = (int) (positionRow[i] * c.d);
          for (int k = 0; k < c.d; k++) dp[base + k] += dr[(int) (i * c.d) + k];
        }
        INDArray dProj = Nd4j.createFromArray(dp).castTo(dataType).reshape(u, c.d);
        INDArray dState = ops.array("dState", u, h);
        ops.denseBackward(ops.array("state" + (steps - 1), u, h), p.get("proj"), dProj, g.get("proj"), g.get("projBias"),
            dState, false);

        INDArray dXGates = lstmBackward(dState);
        INDArray dEmbedded = ops.array("dEmbedded", (long) u * steps, c.byteEmbedding);
        ops.denseBackward(ops.array("embedded", (long) u * steps, c.byteEmbedding), p.get("lstmInput"), dXGates,
            g.get("lstmInput"), g.get("lstmBias"), dEmbedded, false);
        // Byte rows back to the byte table, summed per byte id.
        double[] de = Layouts.doubles(dEmbedded, dEmbeddedValues);
        dEmbeddedValues = de;
        double[] dTable = new double[(PAD + 1) * c.byteEmbedding];
        for (int r = 0; r < byteIds.length; r++) {
          int base = byteIds[r] * c.byteEmbedding;
          for (int k = 0; k < c.byteEmbedding; k++) dTable[base + k] += de[r * c.byteEmbedding + k];
        }
        g.get("byteEmbedding").assign(Nd4j.createFromArray(dTable).castTo(dataType).reshape(PAD + 1, c.byteEmbedding));
      }
      Gradient gradient = new DefaultGradient();
      for (String name : paramTable.keySet()) gradient.gradientForVariable().put(name, g.get(name));
      return new Pair<>(gradient, null);                                  // token ids take no gradient
    }

    /**
     * Backpropagation through the byte steps from dL/d(last state): the recurrent weights' gradient,
     * and returned dL/d(input-side gate products) of every step, [U*steps, 4h].
     */
    private INDArray lstmBackward(INDArray dState) {
      int steps = c().maxBytes;
      long h = c().hidden;
      int u = distinctCount;
      Map<String, INDArray> p = paramTable;
      INDArray dXGates = ops.array("dXGates", (long) u * steps, 4 * h);
      INDArray dCell = ops.array("dCell", u, h).assign(0.0);
      INDArray dRecurrent = ops.array("dRecurrent", h, 4 * h).assign(0.0);
      INDArray dGates = ops.array("dGates", u, 4 * h);
      for (int t = steps - 1; t >= 0; t--) {
        INDArray acts = ops.array("acts" + t, u, 4 * h);
        INDArray tanhCell = ops.array("tanhCell" + t, u, h);
        INDArray prevCell = t > 0 ? ops.array("cell" + (t - 1), u, h) : null;
        if (ops.vector(acts, tanhCell, prevCell, dState, dCell, dGates)) {
          VectorKernels.lstmStepBackward(acts, tanhCell, prevCell, dState, dCell, dGates);
        } else {
          INDArray in = gate(acts, 0, h);
          INDArray forget = gate(acts, 1, h);
          INDArray cand = gate(acts, 2, h);
          INDArray outGate = gate(acts, 3, h);
          // state = o * tanh(cell); cell = f * cell' + i * g
          dCell.addi(dState.mul(outGate).muli(tanhCell.mul(tanhCell).rsubi(1.0)));
          gate(dGates, 3, h).assign(dState.mul(tanhCell).muli(outGate.rsub(1.0).muli(outGate)));
          gate(dGates, 0, h).assign(dCell.mul(cand).muli(in.rsub(1.0).muli(in)));
          gate(dGates, 2, h).assign(dCell.mul(in).muli(cand.mul(cand).rsubi(1.0)));
          if (t > 0) {
            gate(dGates, 1, h).assign(dCell.mul(prevCell).muli(forget.rsub(1.0).muli(forget)));
            dCell.muli(forget);
          } else {
            gate(dGates, 1, h).assign(0.0);
          }
        }
        if (t > 0) {
          Nd4j.gemm(ops.array("state" + (t - 1), u, h), dGates, dRecurrent, true, false, 1.0, 1.0);
          Nd4j.gemm(dGates, p.get("lstmRecurrent"), dState, false, true, 1.0, 0.0);
        }
        Layouts.stepRows(dXGates, steps, t, dGates, false);
      }
      gradTable.get("lstmRecurrent").assign(dRecurrent);
      return dXGates;
    }
  }

  /** [1, 4h]: -1e4 on the input gate, 0 elsewhere. */
  private static INDArray closeInputGate(long h, DataType type) {
    INDArray row = Nd4j.zeros(type, 1, 4 * h);
    row.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(-1e4);
    return row;
  }
}
