package org.charsight.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/charsight's own shell logic, run by bash on the real script. */
class LauncherTest {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  /**
   * The pipeline jar is found in a classpath of Maven's shape (it comes first, hundreds of long
   * entries follow) on every one of 1,000 tries. A pipe into a reader that stops at its first match
   * failed here about once in 20 under pipefail.
   */
  @Test
  void classpathCheckNeverFailsAtRandom(@TempDir Path dir) throws Exception {
    String jar = ROOT + "/pipeline/target/charsight-pipeline-0.1.0-SNAPSHOT.jar";
    List<String> entries = new ArrayList<>(List.of(jar));
    for (int i = 0; i < 400; i++) {
      entries.add("/root/.m2/repository/org/example/library-number-" + i + "/1.0." + i + "/library-number-" + i + "-1.0." + i + ".jar");
    }
    Path cp = dir.resolve("classpath.txt");
    Files.writeString(cp, String.join(":", entries));
    Path missing = dir.resolve("other.txt");
    Files.writeString(missing, String.join(":", entries.subList(1, entries.size())));
    String script = "source '" + ROOT.resolve("bin/charsight") + "'\n"
        + "found=0; failed=0\n"
        + "for i in $(seq 1000); do\n"
        + "  if j=\"$(pipeline_jar_in '" + cp + "')\" && [ \"$j\" = '" + jar + "' ]; then found=$((found+1)); else failed=$((failed+1)); fi\n"
        + "done\n"
        + "pipeline_jar_in '" + missing + "' && echo 'found in other.txt' || echo 'absent from other.txt'\n"
        + "echo \"found=$found failed=$failed\"\n";
    Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor(120, TimeUnit.SECONDS);
    assertEquals("absent from other.txt\nfound=1000 failed=0\n", out);
  }
}
