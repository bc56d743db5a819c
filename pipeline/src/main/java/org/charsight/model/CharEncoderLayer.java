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
 * the distinct ids found in Java, byte rows and positions gathered directly, and a token's pad
 * steps, whose state the graph keeps at exactly zero, not run at all), unless
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
    /**
     * Of the last forward pass (see {@link #distinctIds}): each position's row among the distinct ids; the number
     * of rows each byte step runs and where its rows start in the step-major arrays; each of those rows' byte id.
     */
    private int[] positionRow;
    private int distinctCount;
    private int[] active;
    private int[] offset;
    private int[] byteIds;
    /** Each id's byte count, from the table (fixed for the layer). */
    private int[] lengths;
    /** Kept between steps: the output's and the byte rows' gradients as doubles, summed per id in backward. */
    private double[] dOutValues;
    private float[] projValues = new float[0];
    private float[] outValues = new float[0];
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

    /** Rows [from, to) of a c-order matrix with rows one after another: a contiguous view. */
    private static INDArray rows(INDArray m, long from, long to) {
      long cols = m.size(1);
      // Made directly: ND4J's get(interval, all) handed out views without a buffer for some row ranges of views.
      return Nd4j.create(m.data(), new long[] {to - from, cols}, new long[] {cols, 1}, m.offset() + from * cols, 'c');
    }

    /** Byte step t's rows of a step-major array. */
    private INDArray step(INDArray all, int t) {
      return rows(all, offset[t], offset[t] + active[t]);
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
        toPositions(proj, out);
      }
      return out;
    }

    /** The distinct ids' rows [U, d] out to their positions [b, d, T]: out[b, k, t] = proj[positionRow[b T + t], k]. */
    private void toPositions(INDArray proj, INDArray out) {
      if (!Layouts.contiguousFloat(proj, out)) {
        RowOps.ncwOf(Nd4j.pullRows(proj, 1, positionRow), out);
        return;
      }
      // One pass in Java where ND4J's gather and a transpose took two.
      int d = (int) proj.size(1);
      int context = (int) out.size(2);
      float[] p = projValues = Layouts.readFloats(proj, projValues, (int) proj.length());
      float[] o = outValues = Layouts.grow(outValues, (int) out.length());
      for (int b = 0; b * context < positionRow.length; b++) {
        for (int t = 0; t < context; t++) {
          int row = positionRow[b * context + t] * d;
          int at = b * d * context + t;
          for (int k = 0; k < d; k++) o[at + k * context] = p[row + k];
        }
      }
      Layouts.writeFloats(o, out, (int) out.length());
    }

    /**
     * The input's distinct ids, longest first (ties in order of first appearance), with each position's row among
     * them in {@link #positionRow}; and the step schedule. Bytes are right-aligned, so the ids that have begun by
     * byte step t are those with at least C - t bytes: a prefix of this order, {@link #active}[t] rows. The graph
     * runs every id through every step, pads with a closed input gate so that state and cell stay exactly zero;
     * here those steps are not run at all, the same values without the work (a 16 x 128 batch of Moby-Dick under
     * the 8,192-token BPE has 784 distinct tokens of 4.4 bytes on average: 36% of U x 12 steps; docs/findings.md).
     */
    private int[] distinctIds() {
      CharEncoderLayer c = c();
      int steps = c.maxBytes;
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
      int u = distinctCount = rowOf.size();
      // A counting sort by length, longest first.
      int[] length = new int[u];
      int[] start = new int[steps + 2];
      for (int r = 0; r < u; r++) start[steps - (length[r] = byteLength(distinct[r])) + 1]++;
      for (int k = 1; k <= steps + 1; k++) start[k] += start[k - 1];
      int[] sortedRow = new int[u];
      int[] sorted = new int[u];
      for (int r = 0; r < u; r++) {
        sortedRow[r] = start[steps - length[r]]++;
        sorted[sortedRow[r]] = distinct[r];
      }
      for (int i = 0; i < ids.length; i++) positionRow[i] = sortedRow[positionRow[i]];
      active = new int[steps];
      offset = new int[steps + 1];
      for (int t = 0; t < steps; t++) {
        active[t] = start[t];                                  // after the sort: ids with more than C - t - 1 bytes
        offset[t + 1] = offset[t] + active[t];
      }
      return sorted;
    }

    /** Bytes of an id's table row; every row's, checked right-aligned, once per layer rather than per batch. */
    private int byteLength(int id) {
      if (lengths == null) {
        int[][] table = c().table;
        int[] all = new int[table.length];
        for (int i = 0; i < table.length; i++) {
          all[i] = ByteTable.length(table[i]);
          for (int t = table[i].length - all[i]; t < table[i].length; t++) {
            if (table[i][t] == PAD) throw new IllegalStateException("byte table row of token " + i + " has a pad after a byte");
          }
        }
        lengths = all;
      }
      return lengths[id];
    }

    /** Runs the LSTM over the bytes of each distinct id; returns the final states [U, h], zero for ids without bytes. */
    private INDArray lstm() {
      CharEncoderLayer c = c();
      int steps = c.maxBytes;
      long h = c.hidden;
      int[] distinct = distinctIds();
      int total = offset[steps];
      byteIds = new int[total];
      for (int t = 0; t < steps; t++) {
        for (int r = 0; r < active[t]; r++) byteIds[offset[t] + r] = c.table[distinct[r]][t];
      }
      INDArray last = ops.array("last", distinctCount, h).assign(0.0);
      if (total == 0) return last;
      INDArray embedded = ops.array("embedded", total, c.byteEmbedding).assign(
          Nd4j.pullRows(paramTable.get("byteEmbedding"), 1, byteIds));
      // The input side of every gate at every step in one product; each step's rows then become its activations.
      INDArray acts = ops.array("acts", total, 4 * h);
      ops.dense(embedded, paramTable.get("lstmInput"), paramTable.get("lstmBias"), acts);
      INDArray cells = ops.array("cells", total, h);
      INDArray tanhCells = ops.array("tanhCells", total, h);
      INDArray states = ops.array("states", total, h);
      for (int t = 0; t < steps; t++) {
        int rows = active[t];
        int begun = t > 0 ? active[t - 1] : 0;                       // the rows with a state from step t - 1
        if (rows == 0) continue;
        INDArray a = step(acts, t);
        INDArray cell = step(cells, t);
        INDArray tanhCell = step(tanhCells, t);
        INDArray state = step(states, t);
        if (begun > 0) {
          INDArray carried = rows(a, 0, begun);
          Nd4j.gemm(step(states, t - 1), paramTable.get("lstmRecurrent"), carried, false, false, 1.0, 1.0);
          cellForward(carried, step(cells, t - 1), rows(cell, 0, begun), rows(tanhCell, 0, begun), rows(state, 0, begun));
        }
        // Ids whose first byte is step t start from the zero state: no recurrent term, no forget term.
        if (rows > begun) {
          cellForward(rows(a, begun, rows), null, rows(cell, begun, rows), rows(tanhCell, begun, rows),
              rows(state, begun, rows));
        }
      }
      rows(last, 0, active[steps - 1]).assign(step(states, steps - 1));
      return last;
    }

    /** Gate pre-activations to activations in place, and the cell, tanh(cell) and state: one LSTM step. */
    private void cellForward(INDArray acts, INDArray prevCell, INDArray cell, INDArray tanhCell, INDArray state) {
      if (ops.vector(acts, prevCell, cell, tanhCell, state)) {
        VectorKernels.lstmStep(acts, prevCell, cell, tanhCell, state);
        return;
      }
      long h = c().hidden;
      Transforms.sigmoid(gate(acts, 0, h), false);
      Transforms.sigmoid(gate(acts, 1, h), false);
      Transforms.tanh(gate(acts, 2, h), false);
      Transforms.sigmoid(gate(acts, 3, h), false);
      cell.assign(gate(acts, 0, h)).muli(gate(acts, 2, h));
      if (prevCell != null) cell.addi(gate(acts, 1, h).mul(prevCell));
      Transforms.tanh(tanhCell.assign(cell), false);
      state.assign(tanhCell).muli(gate(acts, 3, h));
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      CharEncoderLayer c = c();
      int total = offset[c.maxBytes];
      long h = c.hidden;
      int u = distinctCount;
      Map<String, INDArray> p = paramTable;
      Map<String, INDArray> g = gradTable;
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        // Positions back to distinct ids: each id's gradient is the sum over the positions holding it, in
        // position order, read straight from [b, d, T].
        double[] e = Layouts.doubles(epsilon.ordering() == 'c' ? epsilon : epsilon.dup('c'), dOutValues);
        dOutValues = e;
        int d = (int) c.d;
        int context = c.seqLen;
        double[] dp = new double[u * d];
        for (int b = 0; b * context < positionRow.length; b++) {
          for (int k = 0; k < d; k++) {
            int from = (b * d + k) * context;
            for (int t = 0; t < context; t++) dp[positionRow[b * context + t] * d + k] += e[from + t];
          }
        }
        INDArray dProj = RowOps.fromDoubles(dp, dataType).reshape(u, d);
        INDArray dState = ops.array("dState", u, h);
        ops.denseBackward(ops.array("last", u, h), p.get("proj"), dProj, g.get("proj"), g.get("projBias"), dState, false);

        double[] dTable = new double[(PAD + 1) * c.byteEmbedding];
        if (total == 0) {
          // No id of the batch has a byte: the LSTM did not run.
          g.get("lstmRecurrent").assign(0.0);
          g.get("lstmInput").assign(0.0);
          g.get("lstmBias").assign(0.0);
        } else {
          INDArray dActs = lstmBackward(dState);
          INDArray dEmbedded = ops.array("dEmbedded", total, c.byteEmbedding);
          ops.denseBackward(ops.array("embedded", total, c.byteEmbedding), p.get("lstmInput"), dActs,
              g.get("lstmInput"), g.get("lstmBias"), dEmbedded, false);
          // Byte rows back to the byte table, summed per byte id.
          double[] de = Layouts.doubles(dEmbedded, dEmbeddedValues);
          dEmbeddedValues = de;
          for (int r = 0; r < byteIds.length; r++) {
            int base = byteIds[r] * c.byteEmbedding;
            for (int k = 0; k < c.byteEmbedding; k++) dTable[base + k] += de[r * c.byteEmbedding + k];
          }
        }
        g.get("byteEmbedding").assign(RowOps.fromDoubles(dTable, dataType).reshape(PAD + 1, c.byteEmbedding));
      }
      Gradient gradient = new DefaultGradient();
      for (String name : paramTable.keySet()) gradient.gradientForVariable().put(name, g.get(name));
      return new Pair<>(gradient, null);                                  // token ids take no gradient
    }

    /**
     * Backpropagation through the byte steps from dL/d(final states) [U, h] (overwritten): the recurrent weights'
     * gradient, and returned dL/d(gate pre-activations) of every step's rows, step-major as the forward pass's.
     */
    private INDArray lstmBackward(INDArray dState) {
      int steps = c().maxBytes;
      long h = c().hidden;
      INDArray dActs = ops.array("dActs", offset[steps], 4 * h);
      INDArray dCell = ops.array("dCell", distinctCount, h).assign(0.0);
      INDArray dRecurrent = ops.array("dRecurrent", h, 4 * h).assign(0.0);
      INDArray acts = ops.array("acts", offset[steps], 4 * h);
      INDArray cells = ops.array("cells", offset[steps], h);
      INDArray tanhCells = ops.array("tanhCells", offset[steps], h);
      INDArray states = ops.array("states", offset[steps], h);
      for (int t = steps - 1; t >= 0 && active[t] > 0; t--) {
        int rows = active[t];
        int begun = t > 0 ? active[t - 1] : 0;
        INDArray a = step(acts, t);
        INDArray tanhCell = step(tanhCells, t);
        INDArray dGates = step(dActs, t);
        if (begun > 0) {
          cellBackward(rows(a, 0, begun), rows(tanhCell, 0, begun), step(cells, t - 1), rows(dState, 0, begun),
              rows(dCell, 0, begun), rows(dGates, 0, begun));
        }
        if (rows > begun) {
          cellBackward(rows(a, begun, rows), rows(tanhCell, begun, rows), null, rows(dState, begun, rows),
              rows(dCell, begun, rows), rows(dGates, begun, rows));
        }
        if (begun > 0) {
          INDArray carried = rows(dGates, 0, begun);
          Nd4j.gemm(step(states, t - 1), carried, dRecurrent, true, false, 1.0, 1.0);
          Nd4j.gemm(carried, paramTable.get("lstmRecurrent"), rows(dState, 0, begun), false, true, 1.0, 0.0);
        }
      }
      gradTable.get("lstmRecurrent").assign(dRecurrent);
      return dActs;
    }

    /**
     * One step's backward from dL/d state and the dL/d cell carried from the step after: dL/d gate pre-activations
     * into {@code dGates}, and {@code dCell} becomes dL/d prevCell (left as is for rows that start here).
     */
    private void cellBackward(INDArray acts, INDArray tanhCell, INDArray prevCell, INDArray dState, INDArray dCell,
        INDArray dGates) {
      if (ops.vector(acts, tanhCell, prevCell, dState, dCell, dGates)) {
        VectorKernels.lstmStepBackward(acts, tanhCell, prevCell, dState, dCell, dGates);
        return;
      }
      long h = c().hidden;
      INDArray in = gate(acts, 0, h);
      INDArray forget = gate(acts, 1, h);
      INDArray cand = gate(acts, 2, h);
      INDArray outGate = gate(acts, 3, h);
      // state = o * tanh(cell); cell = f * cell' + i * g
      dCell.addi(dState.mul(outGate).muli(tanhCell.mul(tanhCell).rsubi(1.0)));
      gate(dGates, 3, h).assign(dState.mul(tanhCell).muli(outGate.rsub(1.0).muli(outGate)));
      gate(dGates, 0, h).assign(dCell.mul(cand).muli(in.rsub(1.0).muli(in)));
      gate(dGates, 2, h).assign(dCell.mul(in).muli(cand.mul(cand).rsubi(1.0)));
      if (prevCell != null) {
        gate(dGates, 1, h).assign(dCell.mul(prevCell).muli(forget.rsub(1.0).muli(forget)));
        dCell.muli(forget);
      } else {
        gate(dGates, 1, h).assign(0.0);
      }
    }
  }

  /** [1, 4h]: -1e4 on the input gate, 0 elsewhere. */
  private static INDArray closeInputGate(long h, DataType type) {
    INDArray row = Nd4j.zeros(type, 1, 4 * h);
    row.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(-1e4);
    return row;
  }
}
