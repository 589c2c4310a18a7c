package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.tensor.Nd4jOps;

/**
 * The CPU side of the GPU conformance check: the cases run on ND4J, every output is finite, the run
 * is reproducible, and the reference file round-trips. With {@code -Drl.cuda.writeReference=FILE}
 * it also writes the file the GPU machine compares against (scripts/device-check.sh).
 */
class OpsCasesTest {
  @Test
  void casesRunOnNd4jReproduciblyAndRoundTrip(@TempDir Path dir) throws Exception {
    Map<String, float[]> first = OpsCases.run(new Nd4jOps(), CudaOpsConformanceTest.SEED);
    Map<String, float[]> second = OpsCases.run(new Nd4jOps(), CudaOpsConformanceTest.SEED);
    assertTrue(first.size() >= 40, "cases: " + first.keySet());
    for (Map.Entry<String, float[]> e : first.entrySet()) {
      assertTrue(e.getValue().length > 0, e.getKey());
      for (float f : e.getValue()) {
        assertFalse(Float.isNaN(f) || Float.isInfinite(f), e.getKey() + " holds " + f);
      }
      assertArrayEquals(e.getValue(), second.get(e.getKey()), e.getKey());
    }
    Path file = dir.resolve("reference.bin");
    OpsCases.write(first, file);
    Map<String, float[]> back = OpsCases.read(file);
    assertEquals(first.keySet(), back.keySet());
    for (String name : first.keySet()) {
      assertArrayEquals(first.get(name), back.get(name), name);
    }
    String target = System.getProperty("rl.cuda.writeReference", "");
    if (!target.isEmpty()) {
      Files.createDirectories(Path.of(target).toAbsolutePath().getParent());
      OpsCases.write(first, Path.of(target));
    }
  }
}
