package org.charsight.train;

import java.util.Collection;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.core.storage.StatsStorageRouterProvider;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;

/**
 * DL4J's parameter-averaging trainer with workers that continue the driver's step count.
 *
 * <p>Each averaging round a worker rebuilds the network from a {@code clone()} of the broadcast
 * configuration, and in DL4J 1.0.0-M2.1 that clone drops the iteration and epoch counts. The
 * updater reads the learning-rate schedule at the network's iteration, so every round restarted the
 * schedule at step 0 on the workers: with a warm-up of W steps and averaging frequency F, training
 * ran at 1/W..F/W of the peak rate forever, and a schedule that starts where pretraining stopped
 * (fine-tuning's) never left its first step. The driver counts correctly (it adds F per round), and
 * the configuration it broadcasts carries that count, so the worker copies it back after the clone.
 *
 * <p>Only the {@link SparkComputationGraph} path is changed; charsight trains no MultiLayerNetwork.
 */
final class StepKeepingTrainingMaster extends ParameterAveragingTrainingMaster {

  StepKeepingTrainingMaster(Builder builder) {
    super(builder);
  }

  /** The parent's method, except for the worker class it returns. */
  @Override
  public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
    ComputationGraph net = graph.getNetwork();
    NetBroadcastTuple tuple = new NetBroadcastTuple(net.getConfiguration(), net.params(), net.getUpdater().getStateViewArray());
    if (collectTrainingStats) stats.logBroadcastStart();
    Broadcast<NetBroadcastTuple> broadcast = graph.getSparkContext().broadcast(tuple);
    if (collectTrainingStats) stats.logBroadcastEnd();
    WorkerConfiguration worker = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker, averagingFrequency,
        prefetchNumBatches, collectTrainingStats);
    return new Worker(broadcast, saveUpdater, worker, trainingHookList, listeners, getRouterProvider());
  }

  static final class Worker extends ParameterAveragingTrainingWorker {
    // The parent keeps its own reference private.
    private final Broadcast<NetBroadcastTuple> sent;

    Worker(Broadcast<NetBroadcastTuple> broadcast, boolean saveUpdater, WorkerConfiguration configuration,
        Collection<TrainingHook> hooks, List<TrainingListener> listeners, StatsStorageRouterProvider router) {
      super(broadcast, saveUpdater, configuration, hooks, listeners, router);
      this.sent = broadcast;
    }

    @Override
    public ComputationGraph getInitialModelGraph() {
      ComputationGraph net = super.getInitialModelGraph();
      ComputationGraphConfiguration driver = sent.getValue().getGraphConfiguration();
      net.getConfiguration().setIterationCount(driver.getIterationCount());
      net.getConfiguration().setEpochCount(driver.getEpochCount());
      return net;
    }
  }
}
