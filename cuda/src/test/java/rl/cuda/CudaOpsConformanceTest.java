package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import rl.core.tensor.Nd4jOps;

/**
 * Every {@code Ops} method of {@link CudaOps} against {@link Nd4jOps} on the same seeded inputs
 * ({@link OpsCases}), in both of CudaOps' precisions. Float32 on both sides with double
 * accumulation in the reductions, so the tolerance is 1e-5 relative (L2 over each output); in bf16
 * precision the outputs that read bf16 storage (names starting {@code reduced.}) get 1e-2: bf16
 * keeps 8 significant bits, 2^-9 ≈ 2e-3 relative rounding per stored value. NaN never passes.
 * Skipped without a GPU. With {@code -Drl.cuda.reference=FILE} the reference comes from a file that
 * {@link OpsCasesTest} wrote with ND4J on another machine (the GPU machine carries no ND4J).
 */
class CudaOpsConformanceTest {
  static final long SEED = 20261125L;
  static final double TOLERANCE = 1e-5;
  static final double BF16_TOLERANCE = 1e-2;

  @Test
  void everyOpMatchesNd4jOps() throws Exception {
    StringBuilder why = new StringBuilder();
    Optional<Cuda> cuda = Cuda.open(why);
    assumeTrue(cuda.isPresent(), () -> "GPU test skipped: " + why);
    String file = System.getProperty("rl.cuda.reference", "");
    Map<String, float[]> reference =
        file.isEmpty() ? OpsCases.run(new Nd4jOps(), SEED) : OpsCases.read(Path.of(file));
    List<String> failures = new ArrayList<>();
    for (String precision : List.of("fp32", "bf16")) {
      CudaOps ops = new CudaOps(cuda.get(), Kernels.defaultCacheDir(), precision);
      System.out.println("CudaOps on " + cuda.get() + "; kernels " + ops.kernelLog());
      Map<String, float[]> actual = OpsCases.run(ops, SEED);
      assertEquals(reference.keySet(), actual.keySet());
      for (Map.Entry<String, float[]> e : reference.entrySet()) {
        float[] got = actual.get(e.getKey());
        double error =
            got.length == e.getValue().length
                ? OpsCases.relativeError(got, e.getValue())
                : Double.NaN;
        double tolerance =
            precision.equals("bf16") && e.getKey().startsWith("reduced.")
                ? BF16_TOLERANCE
                : TOLERANCE;
        boolean ok = error <= tolerance;
        System.out.printf(
            "%-5s %-32s %10.3e %s%n", precision, e.getKey(), error, ok ? "ok" : "FAIL");
        if (!ok) {
          failures.add(precision + " " + e.getKey() + " (" + error + " > " + tolerance + ")");
        }
      }
    }
    assertTrue(failures.isEmpty(), "outside the tolerance: " + failures);
  }
}
