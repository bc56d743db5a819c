package org.charsight.common;

import java.lang.ref.Reference;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's op executioner, wrapped so that every object handed to it stays reachable until it returns.
 *
 * <p>ND4J 1.0.0-M2.1 passes native code the buffers of an op's arrays and does not use the op after the
 * call: {@code NativeOpExecutioner.exec(BroadcastOp)}, for one, takes the native buffer of the op's dimension
 * array (which ND4J makes for each op outside any workspace, and which only the op refers to) and returns
 * the op's output. Compiled, the caller's frame keeps neither the op nor that array alive while native code
 * runs, and ND4J frees a buffer from its own thread once the collector finds its Java object unreachable:
 * a collection at that moment deletes a buffer that native code is about to read, and the JVM dies in
 * {@code sd::DataBuffer::primary()}. The same holds for temporary views (a reshape of a parameter view
 * has a native buffer of its own). A study's 53-minute run died so once (docs/findings.md, 2026-12-04 late
 * night); {@code bench/run op-race} reproduces it in minutes, and not with this wrapper.
 *
 * <p>A proxy over the {@link OpExecutioner} interface rather than a subclass of the CPU executioner: the
 * backend (nd4j-native or nd4j-cuda) is chosen at build time, and ND4J's own code reaches the executioner
 * through the interface only. Each call keeps its arguments, hence the ops and the arrays they hold,
 * reachable until it returns; calls the executioner makes on itself are inside that.
 */
public final class ReachableOps implements InvocationHandler {
  private final OpExecutioner delegate;

  private ReachableOps(OpExecutioner delegate) {
    this.delegate = delegate;
  }

  /** Wraps ND4J's executioner in this JVM, once; ND4J is initialised here if it was not. */
  public static synchronized void install() {
    OpExecutioner current = Nd4j.getExecutioner();
    if (installed(current)) return;
    OpExecutioner wrapped = (OpExecutioner) Proxy.newProxyInstance(OpExecutioner.class.getClassLoader(),
        new Class<?>[] {OpExecutioner.class}, new ReachableOps(current));
    try {
      Field f = Nd4j.class.getDeclaredField("OP_EXECUTIONER_INSTANCE");
      f.setAccessible(true);
      f.set(null, wrapped);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Training would go on exposed to a crash that takes the whole JVM: better to stop here.
      throw new IllegalStateException("cannot wrap ND4J's op executioner (Nd4j.OP_EXECUTIONER_INSTANCE): " + e, e);
    }
  }

  /** Whether ND4J's executioner in this JVM is wrapped. */
  public static boolean installed() {
    return installed(Nd4j.getExecutioner());
  }

  /** ND4J's own executioner, wrapped or not. */
  static OpExecutioner unwrapped() {
    OpExecutioner e = Nd4j.getExecutioner();
    return installed(e) ? ((ReachableOps) Proxy.getInvocationHandler(e)).delegate : e;
  }

  private static boolean installed(OpExecutioner e) {
    return Proxy.isProxyClass(e.getClass()) && Proxy.getInvocationHandler(e) instanceof ReachableOps;
  }

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(delegate, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    } finally {
      Reference.reachabilityFence(args);
    }
  }

  /**
   * Installs the wrapper in the driver and in every executor as it starts: {@code spark.plugins} (set by
   * {@link SparkSessions}), so that no task runs an op before it.
   */
  public static final class Plugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
      return new DriverPlugin() {
        @Override
        public Map<String, String> init(org.apache.spark.SparkContext sc, PluginContext ctx) {
          install();
          return Map.of();
        }
      };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
      return new ExecutorPlugin() {
        @Override
        public void init(PluginContext ctx, Map<String, String> extraConf) {
          install();
        }
      };
    }
  }
}
