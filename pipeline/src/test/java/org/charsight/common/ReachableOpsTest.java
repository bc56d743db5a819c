package org.charsight.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.apache.spark.sql.SparkSession;
import org.charsight.testing.ChildJvm;
import org.charsight.testing.SparkTestSession;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.indexaccum.custom.ArgMax;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Norm2;
import org.nd4j.linalg.api.ops.random.impl.GaussianDistribution;
import org.nd4j.linalg.factory.Nd4j;

class ReachableOpsTest {

  /** Each kind of op through the wrapper gives ND4J's own result, and a failing op ND4J's own exception. */
  @Test
  void theWrappedExecutionerComputesWhatNd4jsComputes() {
    ReachableOps.install();
    ReachableOps.install();
    assertTrue(ReachableOps.installed());
    OpExecutioner raw = ReachableOps.unwrapped();
    assertNotSame(raw, Nd4j.getExecutioner());
    assertFalse(Proxy.isProxyClass(raw.getClass()), "wrapped once: " + raw.getClass());
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.rand(DataType.FLOAT, 6, 5);
    INDArray row = Nd4j.rand(DataType.FLOAT, 1, 5);
    INDArray w = Nd4j.rand(DataType.FLOAT, 5, 3);

    INDArray viaRaw = x.dup();
    raw.exec(new BroadcastAddOp(viaRaw, row, viaRaw, 1));
    assertEquals(viaRaw, x.addRowVector(row));
    assertEquals(raw.exec(new Norm2(x, 1)), x.norm2(1));
    assertEquals(raw.exec(new Mmul(x, w))[0], x.mmul(w));
    assertEquals(raw.exec(new ArgMax(x, false, new int[] {1}))[0], Nd4j.argMax(x, 1));
    INDArray a = Nd4j.create(DataType.FLOAT, 4, 4);
    INDArray b = Nd4j.create(DataType.FLOAT, 4, 4);
    Nd4j.getRandom().setSeed(5);
    raw.exec(new GaussianDistribution(a, 0, 1), Nd4j.getRandom());
    Nd4j.getRandom().setSeed(5);
    Nd4j.getExecutioner().exec(new GaussianDistribution(b, 0, 1), Nd4j.getRandom());
    assertEquals(a, b);
    assertTrue(a.sumNumber().doubleValue() != 0, "the distribution filled the array");

    RuntimeException mine = assertThrows(RuntimeException.class, () -> Nd4j.getExecutioner().exec(new Mmul(x, x)));
    RuntimeException theirs = assertThrows(RuntimeException.class, () -> raw.exec(new Mmul(x, x)));
    assertEquals(theirs.getClass(), mine.getClass());
    assertEquals(theirs.getMessage(), mine.getMessage());
  }

  /** A plugin of the user's, set in the conf: Spark runs it, and charsight's after it. */
  @Test
  void sessionsWrapTheExecutionerBesideTheConfsOwnPlugins() {
    SparkSession spark = SparkTestSession.get("local[1]", "spark.plugins=" + Recording.class.getName());
    assertEquals(Recording.class.getName() + "," + ReachableOps.Plugin.class.getName(),
        spark.sparkContext().getConf().get("spark.plugins"));
    assertTrue(Recording.STARTED.get(), "the conf's plugin ran");
    assertTrue(ReachableOps.installed());
    SparkTestSession.stop();
  }

  /** Says that Spark started it. */
  public static final class Recording implements SparkPlugin {
    static final AtomicBoolean STARTED = new AtomicBoolean();

    @Override
    public DriverPlugin driverPlugin() {
      return new DriverPlugin() {
        @Override
        public Map<String, String> init(SparkContext sc, PluginContext ctx) {
          STARTED.set(true);
          return Map.of();
        }
      };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
      return null;
    }
  }

  /**
   * Threads run the position embedding's broadcast while another collects garbage without pause, in a JVM of
   * its own with both JIT compilers: ND4J's executioner unwrapped took it down in 16-113 s on three threads on a
   * 2-vCPU machine (bench/README.md, "op-race"); wrapped it must live.
   */
  @Test
  void aJvmRacingTheCollectorLivesWhenWrapped() throws Exception {
    Process p = new ProcessBuilder(ChildJvm.command(true, OpRace.class, "wrapped", "45", "3")).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the race finished");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("no crash"), out);
  }
}
