package org.charsight.model;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Output layer: logits over the vocabulary and cross-entropy against integer labels, with a
 * per-position weight so fine-tuning can train on answer tokens only. No one-hot label array is
 * ever made (at a 50k vocabulary it would be as large as the logits).
 *
 * <p>Labels are {@code [b, 2, T]}: channel 0 the next-token id, channel 1 the weight (1 = counts,
 * 0 = ignored). The loss is the sum over counted positions; DL4J divides it by the batch size.
 *
 * <p>How a weight of 0 removes a position exactly: its logits are made 0 before the loss (by
 * zeroing that row's input and bias term), so no gradient reaches the parameters through it, and
 * its loss becomes log V whatever its label; that constant is then subtracted. (ND4J M2.1's sparse cross-entropy ignores any gradient arriving from after
 * it, so weighting its output instead would silently train masked positions.)
 *
 * <p>That SameDiff graph defines the layer and gives inference its probabilities; training runs
 * {@link Impl}'s plain ND4J version of the same loss, which is several times cheaper.
 */
public class SparseSoftmaxLoss extends SameDiffOutputLayer {
  public long d;
  public long vocab;
  public int seqLen;
  public double initStd;
  /**
   * Whether training computes the softmax over the logits with {@link VectorKernels} ({@code model.kernels =
   * vector}); kept in the saved configuration, so a model says which it was trained with.
   */
  public boolean vectorKernels;

  protected SparseSoftmaxLoss() {}

  public SparseSoftmaxLoss(long d, long vocab, int seqLen, double initStd) {
    this(d, vocab, seqLen, initStd, Kernels.ND4J);
  }

  public SparseSoftmaxLoss(long d, long vocab, int seqLen, double initStd, Kernels kernels) {
    this.d = d;
    this.vocab = vocab;
    this.seqLen = seqLen;
    this.initStd = initStd;
    this.vectorKernels = kernels == Kernels.VECTOR;
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.recurrent(vocab, seqLen);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    // sizes are explicit fields
  }

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    return null;
  }

  @Override
  public void defineParameters(SDLayerParams p) {
    p.clear();
    p.addWeightParam("unembed", d, vocab);
    p.addBiasParam("unembedBias", vocab);
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    SdOps.init(params, initStd, Map.of());
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable in, SDVariable labels, Map<String, SDVariable> p) {
    SDVariable x = SdOps.rows(sd, in, d);                                                          // [b*T, d]
    sd.nn.softmax("probs", SdOps.dense(sd, x, p.get("unembed"), p.get("unembedBias")), 1);         // for output()
    SDVariable ids = sd.reshape(labels.get(SDIndex.all(), SDIndex.point(0), SDIndex.all()), -1).castTo(DataType.INT);
    SDVariable weight = sd.reshape(labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all()), -1, 1); // [b*T, 1]
    // Weighted logits without a second [b*T, V] array: [x*w, w] . [W; b] = w * (x W + b).
    SDVariable xw = sd.concat(1, x.mul(weight), weight);                                          // [b*T, d+1]
    SDVariable wb = sd.concat(0, p.get("unembed"), sd.reshape(p.get("unembedBias"), 1, vocab));    // [d+1, V]
    SDVariable perToken = sd.loss.sparseSoftmaxCrossEntropy(sd.mmul(xw, wb), ids);                 // [b*T]
    SDVariable ignored = weight.rsub(1.0).sum().mul(Math.log(vocab));
    SDVariable loss = perToken.sum().sub(ignored);
    // The cross-entropy op marks its own output as a loss; only the total may be one.
    sd.setLossVariables(loss);
    return loss;
  }

  @Override
  public String activationsVertexName() {
    return "probs";
  }

  @Override
  public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
      INDArray paramsView, boolean initializeParams, DataType dataType) {
    return SameDiffLayerFix.wire(new Impl(conf, dataType), conf, layerIndex, paramsView,
        initializer().init(conf, paramsView, initializeParams));
  }

  /**
   * The loss and its gradient in plain ND4J, from one forward pass. DL4J's SameDiff output layer
   * runs its graph forward twice per step (inside backprop, then again for the score), and M2.1's
   * sparse cross-entropy makes several passes over the {@code [b*T, V]} logits each time: at
   * vocabulary 8,192 that was about half of a training step. Here the logits are computed once,
   * turned into probabilities in place, then into dLoss/dlogits in place, and the score call that
   * follows backprop reuses the loss. Gradient checks cover this path; output() still runs the graph.
   */
  public static class Impl extends org.deeplearning4j.nn.layers.samediff.SameDiffOutputLayer {
    /**
     * Arrays kept across steps, the [b*T, V] logits above all: allocating them each step costs page
     * faults at a 50k vocabulary.
     */
    private RowOps ops;
    /** The logits of the last loss, turned into dLoss/dlogits when a gradient was asked for. */
    private INDArray logits;
    /** Whether the last loss with a gradient also wrote the bias gradient ({@link VectorKernels#softmaxLoss}). */
    private boolean biasGradientWritten;
    /** The loss of the last backprop, for the score call DL4J makes right after it. */
    private double lastLoss;
    private boolean lastLossValid;

    public Impl(NeuralNetConfiguration conf, DataType dataType) {
      super(conf, dataType);
    }

    @Override
    public void setInput(INDArray input, LayerWorkspaceMgr workspaceMgr) {
      lastLossValid = false;
      super.setInput(input, workspaceMgr);
    }

    @Override
    public void setLabels(INDArray labels) {
      lastLossValid = false;
      super.setLabels(labels);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
      assertInputSet(true);
      SparseSoftmaxLoss c = (SparseSoftmaxLoss) layerConf();
      long b = input.size(0);
      INDArray x = rows();
      lastLoss = lossLeavingGradient(x, true);
      lastLossValid = true;
      INDArray dz = logits;                                                                 // dLoss/dlogits
      INDArray dx = ops.array("dx", x.size(0), c.d);
      ops.denseBackward(x, paramTable.get("unembed"), dz, gradTable.get("unembed"),
          biasGradientWritten ? null : gradTable.get("unembedBias"), dx, false);
      Gradient g = new DefaultGradient();
      for (String name : paramTable.keySet()) g.gradientForVariable().put(name, gradTable.get(name));
      INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[] {b, c.d, c.seqLen}, 'c');
      RowOps.ncwOf(dx, eps);
      return new Pair<>(g, eps);
    }

    @Override
    public double computeScore(double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
      double loss = lastLoss;
      if (!lastLossValid) {
        loss = lossLeavingGradient(rows(), false);
      }
      lastLossValid = false;
      return (loss + fullNetRegTerm) / input.size(0);
    }

    /** The input as rows [b*T, d], one per position. */
    private INDArray rows() {
      SparseSoftmaxLoss c = (SparseSoftmaxLoss) layerConf();
      if (ops == null) ops = new RowOps(dataType, ((SparseSoftmaxLoss) layerConf()).vectorKernels);
      return RowOps.rowsOf(input, ops.array("x", input.size(0) * c.seqLen, c.d));
    }

    /**
     * Sum over counted positions of weight * (logsumexp(z) - z[label]) for z = x W + b; when asked,
     * leaves dLoss/dz = weight * (softmax(z) - onehot(label)) in {@link #logits}.
     */
    private double lossLeavingGradient(INDArray x, boolean gradient) {
      SparseSoftmaxLoss c = (SparseSoftmaxLoss) layerConf();
      int n = (int) x.size(0);
      logits = ops.array("logits", n, c.vocab);
      INDArray z = logits;
      INDArray unembed = paramTable.get("unembed"), bias = paramTable.get("unembedBias");
      INDArray biasGrad = gradient ? gradTable.get("unembedBias") : null;
      // Labels [b, 2, T] -> per row b*T + t, the order of x's rows. One copy out of ND4J: reading the
      // two [b, T] slices as matrices took an ND4J call per row (32 a step at batch 16).
      int t = c.seqLen;
      float[] pairs = labels.dup('c').data().asFloat();
      int[] label = new int[n];
      double[] weight = new double[n];
      boolean allOnes = true;
      for (int r = 0; r < n; r++) {
        weight[r] = pairs[(r / t * 2 + 1) * t + r % t];
        label[r] = (int) pairs[r / t * 2 * t + r % t];
        if (weight[r] != 1) allOnes = false;
        if (weight[r] != 0 && (label[r] < 0 || label[r] >= c.vocab)) {
          throw new IllegalArgumentException("label " + label[r] + " at row " + r + " is outside the vocabulary of " + c.vocab);
        }
      }
      biasGradientWritten = false;
      if (ops.vector(z, bias) && (biasGrad == null || ops.vector(biasGrad))) {
        Nd4j.gemm(x, unembed, z, false, false, 1.0, 0.0);                                  // the bias comes in the kernel
        double loss = vectorLoss(z, bias, label, weight, allOnes, biasGrad);
        biasGradientWritten = biasGrad != null;
        return loss;
      }
      ops.dense(x, unembed, bias, z);
      double picked = 0;
      for (int r = 0; r < n; r++) {
        if (weight[r] != 0) picked += weight[r] * z.getDouble(r, label[r]);
      }
      INDArray w = Nd4j.createFromArray(weight).castTo(dataType).reshape(n, 1);
      // Shift by the row maximum so exp cannot overflow; logsumexp = max + log(sum exp(z - max)).
      INDArray max = z.max(1).reshape(n, 1);
      Transforms.exp(z.subiColumnVector(max), false);
      INDArray sum = z.sum(1).reshape(n, 1);
      double loss = max.add(Transforms.log(sum, true)).muli(w).sumNumber().doubleValue() - picked;
      if (gradient) {
        z.diviColumnVector(sum);
        gradientFromSoftmax(z, label, weight, allOnes ? null : w);
      }
      return loss;
    }

    /** dLoss/dz = weight * (softmax(z) - onehot(label)), in place over the softmax in {@code z}. */
    private static void gradientFromSoftmax(INDArray z, int[] label, double[] weight, INDArray weightColumn) {
      for (int r = 0; r < label.length; r++) {
        if (weight[r] != 0) z.putScalar(r, label[r], z.getDouble(r, label[r]) - 1);
      }
      if (weightColumn != null) z.muliColumnVector(weightColumn);
    }

    /**
     * {@link #lossLeavingGradient}'s loss, and with {@code biasGrad} its gradient and the bias gradient, from
     * {@link VectorKernels#softmaxLoss} over z = x W.
     */
    private static double vectorLoss(INDArray z, INDArray bias, int[] label, double[] weight, boolean allOnes,
        INDArray biasGrad) {
      int n = label.length;
      float[] max = new float[n];
      float[] sum = new float[n];
      float[] picked = new float[n];
      float[] w = null;
      if (!allOnes) {
        w = new float[n];
        for (int r = 0; r < n; r++) w[r] = (float) weight[r];
      }
      VectorKernels.softmaxLoss(z, bias, label, w, max, sum, picked, biasGrad);
      double p = 0;
      for (int r = 0; r < n; r++) {
        if (weight[r] != 0) p += weight[r] * picked[r];
      }
      double loss = -p;
      for (int r = 0; r < n; r++) loss += weight[r] * (max[r] + Math.log(sum[r]));
      return loss;
    }
  }
}
