package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import rl.core.config.ModelConfig.Backend;
import rl.core.tensor.Backends;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;

/** Backend selection with the CUDA module on the class path (its provider is registered). */
class BackendsTest {
  @Test
  void withoutAGpuAutoFallsBackToNd4jAndSaysWhyWhileCudaIsAnError() {
    StringBuilder why = new StringBuilder();
    Optional<Cuda> cuda = Cuda.open(why);
    assumeTrue(cuda.isEmpty(), "this machine has a GPU; the fallback cannot be observed");
    List<String> log = new ArrayList<>();
    Ops ops = Backends.create(Backend.AUTO, log::add);
    assertInstanceOf(Nd4jOps.class, ops);
    assertEquals(1, log.size(), log.toString());
    assertTrue(log.get(0).startsWith("backend: nd4j (CPU; auto: "), log.get(0));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Backends.create(Backend.CUDA, x -> {}));
    assertTrue(
        e.getMessage().startsWith("model.backend: cuda was asked for, but "), e.getMessage());
    assertTrue(e.getMessage().length() > 45, "names the reason: " + e.getMessage());
  }

  @Test
  void nd4jIsAlwaysTheCpu() {
    List<String> log = new ArrayList<>();
    assertInstanceOf(Nd4jOps.class, Backends.create(Backend.ND4J, log::add));
    assertEquals(List.of("backend: nd4j (CPU, as configured)"), log);
  }

  @Test
  void namesParseAndAnUnknownOneIsRefused() {
    assertEquals(Backend.CUDA, Backends.parse(" CUDA "));
    assertEquals(Backend.AUTO, Backends.parse("auto"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Backends.parse("rocm"));
    assertEquals("backend 'rocm' is unknown, expected auto, nd4j or cuda", e.getMessage());
  }
}
