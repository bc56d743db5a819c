package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.charsight.common.CharsightConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * Renders each kustomize overlay with {@code kubectl kustomize} (offline) and parses every object
 * with the fabric8 model: core kinds typed and strict (no unknown fields), and each
 * SparkApplication checked against the real CLI: main class, command and options as picocli
 * parses them, and key=value overrides as the conf loader accepts them.
 */
class K8sManifestsTest {
  private static final Path K8S = Path.of("..", "k8s").toAbsolutePath().normalize();
  private static final Pattern OVERRIDE = Pattern.compile("[a-z_]+(\\.[a-z_]+)+=.*");

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "gpu"})
  void overlayRendersAndEveryObjectMatchesTheModelAndTheCli(String overlay) throws Exception {
    List<HasMetadata> objects = parse(render(overlay));
    Map<String, List<HasMetadata>> byKind = new java.util.TreeMap<>();
    for (HasMetadata o : objects) byKind.computeIfAbsent(o.getKind(), k -> new ArrayList<>()).add(o);
    assertEquals(List.of("Namespace", "PersistentVolumeClaim", "Role", "RoleBinding", "ServiceAccount", "SparkApplication"),
        new ArrayList<>(byKind.keySet()), "kinds rendered");
    assertFalse(byKind.containsKey("Secret"), "secrets are never in the manifests");

    for (HasMetadata o : objects) {
      if (!(o instanceof GenericKubernetesResource)) assertStrict(o, o.getKind() + " " + o.getMetadata().getName());
      if (!o.getKind().equals("Namespace")) assertEquals("charsight", o.getMetadata().getNamespace(), o.getMetadata().getName());
    }
    List<String> accounts = byKind.get("ServiceAccount").stream().map(a -> a.getMetadata().getName()).toList();
    List<String> claims = byKind.get("PersistentVolumeClaim").stream().map(a -> a.getMetadata().getName()).toList();
    Role role = (Role) byKind.get("Role").get(0);
    RoleBinding binding = (RoleBinding) byKind.get("RoleBinding").get(0);
    assertEquals(role.getMetadata().getName(), binding.getRoleRef().getName());
    assertTrue(accounts.contains(binding.getSubjects().get(0).getName()));
    // Least privilege: pods, services and config maps in the namespace; nothing cluster-wide, no secrets.
    for (var rule : role.getRules()) {
      assertEquals(List.of(""), rule.getApiGroups());
      assertTrue(List.of("pods", "services", "configmaps").containsAll(rule.getResources()), rule.toString());
      assertFalse(rule.getVerbs().contains("*") || rule.getResources().contains("*"), rule.toString());
    }
    ServiceAccount executor = (ServiceAccount) byKind.get("ServiceAccount").stream()
        .filter(a -> a.getMetadata().getName().equals("charsight-executor")).findFirst().orElseThrow();
    assertEquals(Boolean.FALSE, executor.getAutomountServiceAccountToken(), "executors get no API token");
    assertTrue(((PersistentVolumeClaim) byKind.get("PersistentVolumeClaim").get(0)).getSpec().getAccessModes()
        .contains("ReadWriteMany"), "driver and executors share the data volume");

    List<String> commands = new ArrayList<>();
    for (HasMetadata o : byKind.get("SparkApplication")) {
      GenericKubernetesResource app = (GenericKubernetesResource) o;
      String name = app.getMetadata().getName();
      assertEquals("sparkoperator.k8s.io/v1beta2", app.getApiVersion(), name);
      Map<String, Object> spec = app.get("spec");
      assertEquals("Java", spec.get("type"), name);
      assertEquals("cluster", spec.get("mode"), name);
      assertEquals(Cli.class.getName(), spec.get("mainClass"), name + ": main class is the CLI");
      assertEquals("local:///opt/charsight/charsight-app.jar", spec.get("mainApplicationFile"), name);
      assertTrue(dockerfile(overlay).contains("/opt/charsight/charsight-app.jar"), "the image has the jar at that path");
      assertEquals("charsight:" + overlay, spec.get("image"), name);
      assertTrue(String.valueOf(spec.get("sparkVersion")).startsWith("3.5."), name);
      Invocation run = checkArguments(name, (List<?>) spec.get("arguments"));
      commands.add(run.command());
      Map<?, ?> conf = (Map<?, ?>) spec.get("sparkConf");
      if (run.command().equals("pretrain")) {
        // A model on the JDK's vector API needs its module on the driver; GPU executors need ND4J's kernels.
        String kernels = run.conf().string("model.kernels");
        assertEquals(overlay.equals("gpu") ? "nd4j" : "vector", kernels, name + ": model.kernels");
        if (kernels.equals("vector")) {
          String driverOptions = String.valueOf(conf.get("spark.driver.extraJavaOptions"));
          assertTrue(driverOptions.contains("--add-modules jdk.incubator.vector"),
              name + ": the driver's Java options give it the vector API");
        }
      }
      for (Map.Entry<?, ?> e : conf.entrySet()) {
        assertTrue(String.valueOf(e.getKey()).startsWith("spark."), name + ": " + e.getKey());
        assertTrue(e.getValue() instanceof String, name + ": Spark conf values are strings: " + e.getKey());
      }
      for (String role2 : new String[] {"driver", "executor"}) {
        Map<?, ?> pod = (Map<?, ?>) spec.get(role2);
        assertTrue(accounts.contains(String.valueOf(pod.get("serviceAccount"))), name + " " + role2 + " service account");
        assertEquals("data", ((Map<?, ?>) ((List<?>) pod.get("volumeMounts")).get(0)).get("name"), name + " " + role2);
      }
      Map<?, ?> volume = (Map<?, ?>) ((List<?>) spec.get("volumes")).get(0);
      assertTrue(claims.contains(String.valueOf(((Map<?, ?>) volume.get("persistentVolumeClaim")).get("claimName"))), name);
      if (overlay.equals("gpu") && name.equals("charsight-pretrain")) {
        Map<?, ?> gpu = (Map<?, ?>) ((Map<?, ?>) spec.get("executor")).get("gpu");
        assertNotNull(gpu, "GPU executors");
        assertEquals("nvidia.com/gpu", gpu.get("name"));
        assertEquals("nvidia.com", conf.get("spark.executor.resource.gpu.vendor"));
        assertEquals("1", conf.get("spark.task.resource.gpu.amount"));
        String script = String.valueOf(conf.get("spark.executor.resource.gpu.discoveryScript"));
        assertTrue(dockerfile(overlay).contains(script), "the GPU image has the discovery script at " + script);
      }
    }
    assertEquals(List.of("prepare", "pretrain"), commands.stream().sorted().toList());
  }

  /** A SparkApplication's command and the conf its overrides make. */
  private record Invocation(String command, CharsightConfig conf) {}

  /** The arguments as bin/charsight would take them: a command picocli accepts, then known conf keys. */
  private static Invocation checkArguments(String app, List<?> arguments) {
    List<String> options = new ArrayList<>();
    List<String> overrides = new ArrayList<>();
    for (Object a : arguments) {
      assertTrue(a instanceof String, app + ": argument " + a + " must be a string");
      String s = (String) a;
      (OVERRIDE.matcher(s).matches() ? overrides : options).add(s);
    }
    CommandLine.ParseResult parsed = new CommandLine(new Cli()).parseArgs(options.toArray(String[]::new));
    assertTrue(parsed.hasSubcommand(), app + ": a command");
    String command = parsed.subcommand().commandSpec().name();
    assertTrue(parsed.subcommand().unmatched().isEmpty(), app + ": unmatched " + parsed.subcommand().unmatched());
    // Unknown keys or bad syntax throw, naming the key.
    return new Invocation(command, CharsightConfig.load(null, overrides));
  }

  private static String render(String overlay) throws IOException, InterruptedException {
    Path err = Files.createTempFile("kustomize", ".err");
    try {
      // stdout is the YAML; stderr may carry deprecation warnings.
      Process p = new ProcessBuilder("kubectl", "kustomize", K8S.resolve("overlays").resolve(overlay).toString())
          .redirectError(err.toFile()).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), "kubectl kustomize k8s/overlays/" + overlay + ":\n" + Files.readString(err));
      return out;
    } finally {
      Files.deleteIfExists(err);
    }
  }

  private static List<HasMetadata> parse(String yaml) {
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.isBlank()) continue;
      KubernetesResource r = Serialization.unmarshal(doc);
      assertTrue(r instanceof HasMetadata, "a Kubernetes object: " + doc);
      out.add((HasMetadata) r);
    }
    return out;
  }

  private static String dockerfile(String overlay) throws IOException {
    return Files.readString(K8S.resolve("docker").resolve("Dockerfile." + overlay));
  }

  /** Fields the model does not know land in additionalProperties: a typo in a manifest shows up here. */
  private static void assertStrict(Object o, String where) throws Exception {
    walk(o, where, new IdentityHashMap<>());
  }

  private static void walk(Object o, String path, IdentityHashMap<Object, Boolean> seen) throws Exception {
    if (o == null || seen.put(o, true) != null) return;
    if (o instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) walk(l.get(i), path + "[" + i + "]", seen);
      return;
    }
    if (o instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) walk(e.getValue(), path + "." + e.getKey(), seen);
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) return;
    for (Method g : o.getClass().getMethods()) {
      if (g.getParameterCount() != 0 || !g.getName().startsWith("get") || g.getDeclaringClass() == Object.class) continue;
      Object v = g.invoke(o);
      if (g.getName().equals("getAdditionalProperties")) {
        assertTrue(v == null || ((Map<?, ?>) v).isEmpty(), path + ": unknown field(s) " + v);
      } else {
        walk(v, path + "." + g.getName().substring(3), seen);
      }
    }
  }
}
