package org.charsight.experiment;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.charsight.common.CharsightConfig;
import org.junit.jupiter.api.Test;

/** Every named experiment in conf/ has known keys and settings every stage accepts (what the command checks before Spark). */
class ConfsTest {

  @Test
  void everyExperimentConfPassesTheChecksTheCommandRunsFirst() throws IOException {
    Path dir = Path.of("..", "conf");
    List<Path> confs;
    try (var files = Files.list(dir)) {
      confs = files.filter(p -> p.toString().endsWith(".conf") && !p.getFileName().toString().equals("defaults.conf"))
          .sorted().toList();
    }
    assertFalse(confs.isEmpty(), "no conf in " + dir.toAbsolutePath());
    for (Path conf : confs) {
      Experiment.Grid grid = Experiment.check(CharsightConfig.load(conf, List.of()));
      assertTrue(!grid.seeds().isEmpty() && !grid.arms().isEmpty(), conf.toString());
    }
    assertTrue(confs.stream().anyMatch(p -> p.getFileName().toString().equals("answer.conf")), confs.toString());
  }
}
