package org.charsight.model;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's updater (Adam, weight decay, clipping), told that a network's own gradient is its own.
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
 */
public final class FlatGradientUpdater extends ComputationGraphUpdater {
  /** @param state the Adam state to go on from (kept, not copied), or null for a fresh one */
  public FlatGradientUpdater(ComputationGraph net, INDArray state) {
    super(net, state);
  }

  /** Puts one on {@code net}, going on from the state of the updater it has. */
  public static void install(ComputationGraph net) {
    if (net.getUpdater() instanceof FlatGradientUpdater) return;
    net.setUpdater(new FlatGradientUpdater(net, net.getUpdater().getStateViewArray()));
  }

  @Override
  public void update(Gradient gradient, int iteration, int epoch, int batchSize, LayerWorkspaceMgr workspaceMgr) {
    INDArray own = getFlattenedGradientsView();
    super.update(isOwn(gradient, own) ? new Own(gradient, own) : gradient, iteration, epoch, batchSize, workspaceMgr);
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
