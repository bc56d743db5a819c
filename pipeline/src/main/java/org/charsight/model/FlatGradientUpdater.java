package org.charsight.model;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.ConvexOptimizer;
import org.deeplearning4j.optimize.api.StepFunction;
import org.deeplearning4j.optimize.solvers.BaseOptimizer;
import org.deeplearning4j.optimize.solvers.StochasticGradientDescent;
import org.deeplearning4j.optimize.stepfunctions.NegativeGradientStepFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * DL4J's updater (Adam, weight decay, clipping), told that a network's own gradient is its own, and where the
 * JDK's vector API runs on ND4J's CPU backend, doing DL4J's step in one pass.
 *
 * <p>DL4J M2.1's updater asks {@code gradient.gradient() != getFlattenedGradientsView()} to tell a gradient
 * computed in another network from the network's own, and {@code DefaultGradient.gradient()} returns a new
 * reshaped view on every call: every step of every network takes the "external gradient" path, which makes
 * two fresh views per parameter array for the regularization before and again after Adam, and more for the
 * blocks. The arithmetic is the same on the same memory; the views are garbage (half of what ND4J's arrays
 * left for the garbage collector in a small-model step, docs/findings.md) and calls. Here the gradient
 * handed to DL4J answers {@code gradient()} with the network's flattened view itself, so DL4J takes its
 * standard path over the views it built once: the same parameters and Adam state, bit for bit
 * ({@code FlatGradientUpdaterTest}).
 *
 * <p>DL4J's step is then still four to six passes of libnd4j's ops over the parameters, gradient and both
 * Adam moments (divide by the minibatch, clip, Adam, each weight decay, and the optimizer's subtraction), ~5%
 * of the 8,192 model's step on one thread (bench/README). {@link AdamWKernel} does them in one pass, with
 * libnd4j's arithmetic to the bit. That pass also subtracts the update from the parameters, which DL4J's
 * optimizer does after the updater returns: {@link #install} gives the optimizer a step function that skips
 * the subtraction this updater has done. Any configuration it does not reproduce exactly (another updater,
 * L1/L2, another clipping, a gradient not the network's own, no vector API, a GPU backend) takes DL4J's path.
 */
public final class FlatGradientUpdater extends ComputationGraphUpdater {
  private static final VarHandle STEP_FUNCTION = stepFunctionHandle();

  /** The optimizer's step function while this updater does the subtraction; null where it cannot. */
  private final SkippingStep step;
  /** What the one-pass step runs over, built at its first step; rebuilt if the arrays it holds change. */
  private Plan plan;
  /** A configuration the one-pass step does not reproduce: DL4J's path from then on. */
  private boolean unsupported;
  /** Whether the last step was the one pass. */
  private boolean lastOnePass;

  /** @param state the Adam state to go on from (kept, not copied), or null for a fresh one */
  private FlatGradientUpdater(ComputationGraph net, INDArray state, SkippingStep step) {
    super(net, state);
    this.step = step;
  }

  /** Puts one on {@code net}, going on from the state of the updater it has. */
  public static void install(ComputationGraph net) {
    if (net.getUpdater() instanceof FlatGradientUpdater) return;
    install(net, net.getUpdater().getStateViewArray());
  }

  /**
   * Puts one on {@code net} with this Adam state (kept, not copied; null for a fresh one), and, where the
   * one-pass step can run, the step function that goes with it.
   */
  public static void install(ComputationGraph net, INDArray state) {
    install(net, state, onePassPossible());
  }

  /** As {@link #install(ComputationGraph, INDArray)}, with the one pass where {@code onePass} (tests ask for both). */
  static void install(ComputationGraph net, INDArray state, boolean onePass) {
    SkippingStep step = onePass ? new SkippingStep() : null;
    net.setUpdater(new FlatGradientUpdater(net, state, step));
    if (step == null) return;
    // setUpdater made the network's solver and its optimizer; DL4J never replaces either.
    ConvexOptimizer optimizer = net.getOptimizer();
    if (optimizer.getClass() == StochasticGradientDescent.class
        && STEP_FUNCTION.get((BaseOptimizer) optimizer).getClass() == NegativeGradientStepFunction.class) {
      STEP_FUNCTION.set((BaseOptimizer) optimizer, step);
    }
  }

  /** The vector API is here and ND4J's arrays are in host memory. */
  private static boolean onePassPossible() {
    return Kernels.vectorApiPresent() && Kernels.cpuBackend();
  }

  /** Whether the last step was the one pass (tests ask, to know what they compared). */
  boolean onePass() {
    return lastOnePass;
  }

  @Override
  public void update(Gradient gradient, int iteration, int epoch, int batchSize, LayerWorkspaceMgr workspaceMgr) {
    INDArray own = getFlattenedGradientsView();
    boolean isOwn = isOwn(gradient, own);
    if (isOwn && step != null && !unsupported && ownStep()) {
      Plan p = currentPlan(own);
      if (p != null) {
        p.apply(iteration, epoch, batchSize);
        step.skipNext();
        lastOnePass = true;
        return;
      }
    }
    lastOnePass = false;
    super.update(isOwn ? new Own(gradient, own) : gradient, iteration, epoch, batchSize, workspaceMgr);
  }

  /**
   * The optimizer subtracts with this updater's step function and shares no updates: a gradient accumulator
   * (DL4J's gradient sharing) would read the update from the gradient and apply it itself.
   */
  private boolean ownStep() {
    ConvexOptimizer optimizer = network.getOptimizer();
    return optimizer instanceof BaseOptimizer b && STEP_FUNCTION.get(b) == step
        && optimizer.getGradientsAccumulator() == null;
  }

  private Plan currentPlan(INDArray gradient) {
    if (plan == null || !plan.over(gradient, network.params(), getStateViewArray())) {
      plan = Plan.of(this, gradient, network.params(), getStateViewArray());
      if (plan == null) unsupported = true;
    }
    return plan;
  }

  /**
   * DL4J's step laid out for {@link AdamWKernel}: each layer's gradient range (for its clipping norm) and,
   * per updater block, each parameter's range, its layer and its weight decays.
   */
  private record Plan(INDArray gradient, INDArray params, INDArray state, ByteBuffer g, ByteBuffer p,
      boolean divide, List<LayerClip> clips, List<Block> blocks) {
    boolean over(INDArray gradient, INDArray params, INDArray state) {
      return this.gradient == gradient && this.params == params && this.state == state;
    }

    /** Null when some part of the configuration is not one this reproduces. */
    static Plan of(FlatGradientUpdater u, INDArray gradient, INDArray params, INDArray state) {
      if (!Layouts.contiguousFloat(gradient, params) || params.length() != gradient.length()) return null;
      Map<Trainable, Integer> layerIndex = new IdentityHashMap<>();
      List<LayerClip> clips = new ArrayList<>();
      for (Trainable t : u.getOrderedLayers()) {
        if (t.getConfig() == null || t.numParams() == 0) continue;
        for (String name : t.paramTable(false).keySet()) {
          if (!t.updaterDivideByMinibatch(name)) return null;
        }
        GradientNormalization gn = t.getConfig().getGradientNormalization();
        boolean clip = gn == GradientNormalization.ClipL2PerLayer;
        if (gn != null && gn != GradientNormalization.None && !clip) return null;
        INDArray view = t.getGradientsViewArray();
        if (view == null || clip && !Layouts.contiguousFloat(view)) return null;
        layerIndex.put(t, clips.size());
        clips.add(new LayerClip(clip ? Layouts.bytes(view) : null, (int) view.length(),
            t.getConfig().getGradientNormalizationThreshold()));
      }
      List<Block> blocks = new ArrayList<>();
      for (UpdaterBlock ub : u.getUpdaterBlocks()) {
        if (ub.skipDueToPretrainConfig(false)) return null;
        if (ub.getLayersAndVariablesInBlock().get(0).getLayer().numParams() == 0) continue;
        ub.init();
        GradientUpdater<?> gu = ub.getGradientUpdater();
        if (gu.getClass() != AdamUpdater.class || gu.getConfig().getClass() != Adam.class) return null;
        INDArray m = ((AdamUpdater) gu).getState().get(AdamUpdater.M_STATE);
        INDArray v = ((AdamUpdater) gu).getState().get(AdamUpdater.V_STATE);
        if (!Layouts.contiguousFloat(m, v)) return null;
        List<Param> ps = new ArrayList<>();
        for (UpdaterBlock.ParamState s : ub.getLayersAndVariablesInBlock()) {
          Integer layer = layerIndex.get(s.getLayer());
          if (layer == null) return null;
          List<WeightDecay> decays = new ArrayList<>();
          List<Regularization> rs = s.getLayer().getConfig().getRegularizationByParam(s.getParamName());
          for (Regularization r : rs == null ? List.<Regularization>of() : rs) {
            if (r.getClass() != WeightDecay.class || r.applyStep() != Regularization.ApplyStep.POST_UPDATER) return null;
            decays.add((WeightDecay) r);
          }
          if (decays.size() > 2) return null;
          ps.add(new Param(s.getParamOffsetStart(), s.getParamOffsetEnd() - s.getParamOffsetStart(),
              s.getParamOffsetStart() - ub.getParamOffsetStart(), layer, decays));
        }
        blocks.add(new Block((Adam) gu.getConfig(), Layouts.bytes(m), Layouts.bytes(v), ps));
      }
      return new Plan(gradient, params, state, Layouts.bytes(gradient), Layouts.bytes(params),
          u.isMiniBatch(), clips, blocks);
    }

    void apply(int iteration, int epoch, int batchSize) {
      int divisor = divide ? batchSize : 1;
      int threads = Nd4j.getEnvironment().maxThreads();
      float[] scale = new float[clips.size()];
      for (int l = 0; l < scale.length; l++) scale[l] = clips.get(l).scale(divisor, threads);
      for (Block b : blocks) b.apply(g, p, iteration, epoch, divisor, scale);
    }
  }

  /**
   * A layer's gradient view and clipping threshold. DL4J compares the norm, as a double, with the threshold
   * and multiplies by (float) (threshold / norm); below it, the factor 1 leaves every value as it is.
   */
  private record LayerClip(ByteBuffer view, int length, double threshold) {
    float scale(int divisor, int threads) {
      if (view == null) return 1f;
      double norm = AdamWKernel.norm(view, 0, length, divisor, threads);
      return norm > threshold ? (float) (threshold / norm) : 1f;
    }
  }

  /** A parameter: its range in the flat arrays and in its block's moments, its layer, its weight decays. */
  private record Param(int at, int length, int state, int layer, List<WeightDecay> decays) {}

  /** An updater block: one Adam configuration over contiguous parameters, with its moments. */
  private record Block(Adam adam, ByteBuffer m, ByteBuffer v, List<Param> params) {
    void apply(ByteBuffer g, ByteBuffer p, int iteration, int epoch, int divisor, float[] scale) {
      double lr = adam.getLearningRate(iteration, epoch);
      AdamWKernel.Constants k = AdamWKernel.Constants.of(divisor, lr, adam.getBeta1(), adam.getBeta2(),
          adam.getEpsilon(), iteration);
      for (Param q : params) {
        int n = q.decays().size();
        float d0 = n > 0 ? decay(q.decays().get(0), iteration, epoch, lr) : 0f;
        float d1 = n > 1 ? decay(q.decays().get(1), iteration, epoch, lr) : 0f;
        AdamWKernel.step(g, p, q.at(), m, v, q.state(), q.length(), k, scale[q.layer()], n, d0, d1);
      }
    }

    /** WeightDecay.apply's factor: the coefficient, times the learning rate when so configured, in double. */
    private static float decay(WeightDecay w, int iteration, int epoch, double lr) {
      double s = w.getCoeff().valueAt(iteration, epoch);
      if (w.isApplyLR()) s *= lr;
      return (float) s;
    }
  }

  /**
   * DL4J's optimizer's step, {@code params -= update}, skipped once after each step this updater has
   * already subtracted. Only this updater calls {@link #skipNext}, from inside the optimizer's own step.
   */
  private static final class SkippingStep implements StepFunction {
    private boolean skip;

    void skipNext() {
      skip = true;
    }

    @Override
    public void step(INDArray x, INDArray line, double step) {
      step(x, line);
    }

    @Override
    public void step(INDArray x, INDArray line) {
      if (skip) {
        skip = false;
        return;
      }
      x.subi(line);
    }

    @Override
    public void step() {}
  }

  private static VarHandle stepFunctionHandle() {
    try {
      return MethodHandles.privateLookupIn(BaseOptimizer.class, MethodHandles.lookup())
          .findVarHandle(BaseOptimizer.class, "stepFunction", StepFunction.class);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("DL4J's BaseOptimizer has no stepFunction field: another DL4J version?", e);
    }
  }

  /** Whether the gradient's flattened form is the network's gradient view: the same memory, whole. */
  static boolean isOwn(Gradient gradient, INDArray own) {
    INDArray flat = gradient.gradient();
    // The reshaped view wraps the memory in a DataBuffer object of its own: compare addresses.
    return own != null && flat != null && flat.dataType() == own.dataType()
        && flat.data().address() == own.data().address() && flat.offset() == own.offset()
        && flat.length() == own.length();
  }

  /** The network's gradient, whose flattened form is the network's view object. */
  private record Own(Gradient of, INDArray flat) implements Gradient {
    @Override
    public INDArray gradient() {
      return flat;
    }

    @Override
    public INDArray gradient(List<String> order) {
      return of.gradient(order);
    }

    @Override
    public void clear() {
      of.clear();
    }

    @Override
    public INDArray getGradientFor(String variable) {
      return of.getGradientFor(variable);
    }

    @Override
    public INDArray setGradientFor(String variable, INDArray gradient) {
      return of.setGradientFor(variable, gradient);
    }

    @Override
    public INDArray setGradientFor(String variable, INDArray gradient, Character flatteningOrder) {
      return of.setGradientFor(variable, gradient, flatteningOrder);
    }

    @Override
    public Map<String, INDArray> gradientForVariable() {
      return of.gradientForVariable();
    }

    @Override
    public Character flatteningOrderForVariable(String variable) {
      return of.flatteningOrderForVariable(variable);
    }
  }
}
