package org.charsight.model;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.charsight.common.UserError;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarAdd;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseSubtraction;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Forward and backward passes of the dense pieces of a layer in plain ND4J, on rows {@code [N, d]}
 * (one row per position), writing into arrays the caller keeps from step to step.
 *
 * <p>Why not SameDiff: inside DL4J a SameDiff layer runs its forward pass twice per training step
 * (once for the activations, again inside backprop), and several M2.1 kernels are slow for these
 * shapes: {@code INDArray.mmul} computes into a new 'f'-order array and copies it back, a reduction
 * over dimension 0 (a bias gradient) is about ten times a matrix product by a ones vector, and
 * {@code layer_norm_bp} took ~6 ms per call on [2048, 128] (docs/findings.md). Gradient checks and the
 * comparison with the SameDiff definitions ({@code HandWrittenLayersTest}) hold these to the graphs.
 *
 * <p>With {@link Kernels#VECTOR} the elementwise chains (GELU, LayerNorm, and what layers ask through
 * {@link #vector}) run as one pass each in {@link VectorKernels}; the products stay with ND4J's BLAS.
 */
final class RowOps {
  /** GELU's sigmoid approximation: gelu(x) = x * sigmoid(1.702 x), with 1.702 as a float as in ND4J's op. */
  static final double GELU_SCALE = 1.702f;
  private final DataType dataType;
  /** Whether {@link VectorKernels} computes what it can (model.kernels = vector). */
  private final boolean vectorKernels;
  /** Per name: flat storage, grown when a larger shape is asked for, never shrunk. */
  private final Map<String, INDArray> storage = new HashMap<>();
  /** Per name: the array last handed out, a c-order view of the start of its storage. */
  private final Map<String, INDArray> views = new HashMap<>();
  /** The storage of {@link #ones}, all ones. */
  private INDArray onesStorage;

  RowOps(DataType dataType) {
    this(dataType, false);
  }

  /**
   * @param vectorKernels the layer was configured with model.kernels = vector; refused with the one line
   *     that says what to do when this JVM lacks the vector API's module (a model trained with it, loaded elsewhere)
   */
  RowOps(DataType dataType, boolean vectorKernels) {
    if (vectorKernels && !Kernels.vectorApiPresent()) {
      throw new UserError(Kernels.missingModule("this model (trained with model.kernels)"));
    }
    this.dataType = dataType;
    this.vectorKernels = vectorKernels;
  }

  /** Whether these arrays go through {@link VectorKernels}: asked for, and float, contiguous, under 2 GB. */
  boolean vector(INDArray... arrays) {
    return vectorKernels && VectorKernels.fit(arrays);
  }

  /**
   * A c-order array of this shape kept under this name, allocated outside every workspace (its
   * contents must outlive DL4J's per-layer scopes, from the forward pass to backprop). A smaller
   * shape is a view of the storage already there: batched decoding shrinks its batch as sequences
   * finish, and the char encoder's row count is the batch's number of distinct tokens, so
   * allocating per shape meant allocating on almost every call.
   */
  INDArray array(String name, long... shape) {
    INDArray v = views.get(name);
    if (v != null && Arrays.equals(v.shape(), shape)) return v;
    long length = 1;
    for (long s : shape) length *= s;
    INDArray flat = storage.get(name);
    if (flat == null || flat.length() < length) {
      // At least half again the old storage, so a slowly growing size does not reallocate each time.
      long capacity = flat == null ? length : Math.max(length, flat.length() + flat.length() / 2);
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        flat = Nd4j.createUninitialized(dataType, new long[] {capacity}, 'c');
      }
      storage.put(name, flat);
    }
    v = (flat.length() == length ? flat : flat.get(NDArrayIndex.interval(0, length))).reshape('c', shape);
    views.put(name, v);
    return v;
  }

  /** A [1, n] row of ones, kept like {@link #array}: its storage is filled whole when allocated. */
  private INDArray ones(long n) {
    INDArray o = array("ones", 1, n);
    if (storage.get("ones") != onesStorage) {
      onesStorage = storage.get("ones");
      onesStorage.assign(1.0);
    }
    return o;
  }

  /** [b, d, T] -> rows [b*T, d], into {@code out}. */
  static INDArray rowsOf(INDArray ncw, INDArray out) {
    if (Layouts.contiguousFloat(ncw, out)) {
      Layouts.transposeBatches(ncw, ncw.size(0), (int) ncw.size(1), (int) ncw.size(2), out);
    } else {
      out.reshape('c', ncw.size(0), ncw.size(2), ncw.size(1)).assign(ncw.permute(0, 2, 1));
    }
    return out;
  }

  /**
   * A vector of {@code type} from sums kept in double: rounded in Java for float (ND4J makes a double array
   * element by element and casts it).
   */
  static INDArray fromDoubles(double[] v, DataType type) {
    if (type != DataType.FLOAT) return Nd4j.createFromArray(v).castTo(type);
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
    return Nd4j.createFromArray(f);
  }

  /** rows [b*T, d] -> [b, d, T], into {@code out}. */
  static INDArray ncwOf(INDArray rows, INDArray out) {
    if (Layouts.contiguousFloat(rows, out)) {
      Layouts.transposeBatches(rows, out.size(0), (int) out.size(2), (int) out.size(1), out);
    } else {
      out.assign(rows.reshape('c', out.size(0), out.size(2), out.size(1)).permute(0, 2, 1));
    }
    return out;
  }

  /** y = x W + b. */
  void dense(INDArray x, INDArray w, INDArray b, INDArray y) {
    Nd4j.gemm(x, w, y, false, false, 1.0, 0.0);
    // One float addition per element either way, so the same bits; the vector pass saves ND4J's call.
    if (vector(y, b)) {
      VectorKernels.addRow(y, b);
    } else {
      y.addiRowVector(b);
    }
  }

  /**
   * Gradients of y = x W + b: dW and db into their gradient arrays, and dL/dx added to {@code dx}
   * when {@code accumulate}, else written there ({@code dx} may be null when not needed, {@code gb} when
   * the caller wrote db itself).
   */
  void denseBackward(INDArray x, INDArray w, INDArray dy, INDArray gw, INDArray gb, INDArray dx, boolean accumulate) {
    // Products go to arrays of their own, then into DL4J's gradient views (offsets into one flat array).
    gw.assign(Nd4j.gemm(x, dy, array("gw" + Arrays.toString(gw.shape()), gw.shape()), true, false, 1.0, 0.0));
    if (gb != null) columnSums(dy, gb);
    if (dx != null) Nd4j.gemm(dy, w, dx, false, true, 1.0, accumulate ? 1.0 : 0.0);
  }

  /** Column sums of [N, k] into [1, k], as a product with a ones row: see the class comment. */
  void columnSums(INDArray m, INDArray out) {
    if (vector(m, out)) {
      VectorKernels.columnSums(m, out);                                  // rows summed in order: other bits
      return;
    }
    out.assign(Nd4j.gemm(ones(m.size(0)), m, array("columnSums" + m.size(1), 1, m.size(1)), false, false, 1.0, 0.0).reshape(out.shape()));
  }

  /** ND4J's GELU, x * sigmoid(1.702 x), keeping the sigmoid in {@code gate} for {@link #geluBackward}. */
  void gelu(INDArray x, INDArray gate, INDArray y) {
    if (vector(x, gate, y)) {
      VectorKernels.gelu(x, gate, y);
      return;
    }
    // The same float operations as ND4J's gelu op, so the activations are bit-identical to it.
    Nd4j.exec(new ScalarMultiplication(x, null, gate, GELU_SCALE));
    Nd4j.exec(new Sigmoid(gate, gate));
    Nd4j.exec(new MulOp(x, gate, y));
  }

  /**
   * dL/dx of {@link #gelu} into {@code dy} (returned): dy * s (1 + 1.702 x (1 - s)), s the kept
   * sigmoid. Not ND4J's gelu_derivative: that computes e^(1.702 x) and its square, which overflow
   * float for x above ~26 and give NaN (docs/findings.md), and it is ~6x slower than these products.
   */
  INDArray geluBackward(INDArray x, INDArray gate, INDArray dy) {
    if (vector(x, gate, dy)) {
      VectorKernels.geluBackward(x, gate, dy);
      return dy;
    }
    INDArray slope = array("geluSlope", x.shape());
    Nd4j.exec(new ScalarReverseSubtraction(gate, null, slope, 1.0));                      // 1 - s
    Nd4j.exec(new MulOp(slope, x, slope));
    Nd4j.exec(new ScalarMultiplication(slope, null, slope, GELU_SCALE));
    Nd4j.exec(new ScalarAdd(slope, null, slope, 1.0));
    Nd4j.exec(new MulOp(slope, gate, slope));
    Nd4j.exec(new MulOp(dy, slope, dy));
    return dy;
  }

  /**
   * y = (x - mean) / std * gain + bias per row, std with divisor d and no epsilon (ND4J's layer_norm,
   * which the SameDiff definitions and the weight export use). Keeps x-hat and 1/std for backward.
   * A row without variance gives x-hat 0 (so y = bias), as ND4J's op does, and passes no gradient back.
   */
  void layerNorm(INDArray x, INDArray gain, INDArray bias, INDArray xhat, INDArray rstd, INDArray y) {
    if (vector(x, gain, bias, xhat, rstd, y)) {
      VectorKernels.layerNorm(x, gain, bias, xhat, rstd, y);
      return;
    }
    xhat.assign(x).subiColumnVector(x.mean(true, 1));
    y.assign(xhat).muli(xhat);
    rstd.assign(y.mean(true, 1));
    Transforms.pow(rstd, -0.5, false);
    // 1/0 would make that row's x-hat 0 * inf = NaN, where ND4J's op gives 0.
    BooleanIndexing.replaceWhere(rstd, 0.0, Conditions.isInfinite());
    xhat.muliColumnVector(rstd);
    y.assign(xhat).muliRowVector(gain).addiRowVector(bias);
  }

  /**
   * Backward of {@link #layerNorm}: gain and bias gradients, and dL/dx added to {@code dx}:
   * dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gain, means over each row.
   * {@code scratch} is an [N, d] array this may overwrite.
   */
  void layerNormBackward(INDArray dy, INDArray gain, INDArray xhat, INDArray rstd, INDArray gGain, INDArray gBias,
      INDArray dx, INDArray scratch) {
    if (vector(dy, gain, xhat, rstd, gGain, gBias, dx)) {
      VectorKernels.layerNormBackward(dy, gain, xhat, rstd, gGain, gBias, dx);
      return;
    }
    columnSums(scratch.assign(dy).muli(xhat), gGain);
    columnSums(dy, gBias);
    INDArray g = scratch.assign(dy).muliRowVector(gain);
    INDArray meanG = g.mean(true, 1);
    INDArray meanGx = g.mul(xhat).mean(true, 1);
    g.subiColumnVector(meanG).subi(xhat.mulColumnVector(meanGx)).muliColumnVector(rstd);
    dx.addi(g);
  }
}
