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
 * precision the outputs that read bf16 storage (names starting {@code reduced.}, and attention on
 * the product path, whose operands are rounded to bf16) get 1e-2: bf16 keeps 8 significant bits,
 * 2^-9 ≈ 2e-3 relative rounding per stored value. NaN never passes. Skipped without a GPU. With
 * {@code -Drl.cuda.reference=FILE} the reference comes from a file that {@link OpsCasesTest} wrote
 * with ND4J on another machine (the GPU machine carries no ND4J).
 */
class CudaOpsConformanceTest {
  static final long SEED = 20261125L;
  static final double TOLERANCE = 1e-5;
  static final double BF16_TOLERANCE = 1e-2;

  /**
   * The tensor-core decode attention against the float one over the same bf16 cache: bf16 queries
   * and probabilities in its products, ~2^-9 relative each (measured on the H100: at most 2.1e-3).
   */
  static final double MMA_TOLERANCE = 4e-3;

  /**
   * Precision and attention path: every case runs on both attention implementations (the product
   * path rounds its operands to bf16 in bf16 precision, hence that tolerance for its attention),
   * with the rank-1 adapter backward as products and as the fused kernels, and with both kernels
   * for attention over a bf16 cache (key tiles on tensor cores, the default, key tiles with float
   * FMAs, and a warp per key; the key tiles also with 2 warps a block and one tile staged at a
   * time, and with 3 warps), and with the adapter's forward as the one fused kernel for every row
   * count (by default two kernels where the outputs are a multiple of 4).
   */
  static final List<String> VARIANTS =
      List.of(
          "fp32 FLASH",
          "fp32 PRODUCTS",
          "bf16 FLASH",
          "bf16 PRODUCTS",
          "fp32 PRODUCTS fused-lora-backward",
          "bf16 PRODUCTS fused-lora-backward",
          "bf16 FLASH warp-per-key",
          "bf16 FLASH no-bundles",
          "bf16 FLASH fma-key-tiles",
          "bf16 FLASH fma-key-tiles-2-warps-1-stage",
          "bf16 FLASH key-tiles-2-warps-1-stage",
          "bf16 FLASH key-tiles-3-warps-2-stages",
          "bf16 PRODUCTS fused-lora-forward");

  @Test
  void everyOpMatchesNd4jOps() throws Exception {
    StringBuilder why = new StringBuilder();
    Optional<Cuda> cuda = Cuda.open(why);
    assumeTrue(cuda.isPresent(), () -> "GPU test skipped: " + why);
    String file = System.getProperty("rl.cuda.reference", "");
    Map<String, float[]> reference =
        file.isEmpty() ? OpsCases.run(new Nd4jOps(), SEED) : OpsCases.read(Path.of(file));
    List<String> failures = new ArrayList<>();
    Map<String, Map<String, float[]>> outputs = new java.util.HashMap<>();
    for (String variant : VARIANTS) {
      String precision = variant.split(" ")[0];
      CudaOps.AttentionPath path = CudaOps.AttentionPath.valueOf(variant.split(" ")[1]);
      CudaOps ops = new CudaOps(cuda.get(), Kernels.defaultCacheDir(), precision);
      ops.useAttentionPath(path);
      ops.useFusedLoraBackward(variant.endsWith("fused-lora-backward"));
      ops.useKeyTileAttention(!variant.endsWith("warp-per-key"));
      ops.useMmaAttention(!variant.contains("fma-key-tiles"));
      ops.usePromptBundles(!variant.endsWith("no-bundles"));
      java.util.regex.Matcher layout =
          java.util.regex.Pattern.compile("key-tiles-(\\d)-warps-(\\d)-stages?$").matcher(variant);
      if (layout.find()) {
        ops.useKeyTileLayout(Integer.parseInt(layout.group(1)), Integer.parseInt(layout.group(2)));
      }
      if (variant.endsWith("fused-lora-forward")) {
        ops.useSplitLoraForwardFrom(Integer.MAX_VALUE);
      }
      System.out.println("CudaOps on " + cuda.get() + "; kernels " + ops.kernelLog());
      Map<String, float[]> actual = OpsCases.run(ops, SEED);
      outputs.put(variant, actual);
      assertEquals(reference.keySet(), actual.keySet());
      for (Map.Entry<String, float[]> e : reference.entrySet()) {
        float[] got = actual.get(e.getKey());
        double error =
            got.length == e.getValue().length
                ? OpsCases.relativeError(got, e.getValue())
                : Double.NaN;
        boolean bf16Inputs =
            e.getKey().startsWith("reduced.")
                || (path == CudaOps.AttentionPath.PRODUCTS && e.getKey().startsWith("attention"));
        double tolerance = precision.equals("bf16") && bf16Inputs ? BF16_TOLERANCE : TOLERANCE;
        boolean ok = error <= tolerance;
        System.out.printf(
            "%-14s %-32s %10.3e %s%n", variant, e.getKey(), error, ok ? "ok" : "FAIL");
        if (!ok) {
          failures.add(variant + " " + e.getKey() + " (" + error + " > " + tolerance + ")");
        }
      }
    }
    // The bf16-cache attention kernels read the same bf16 keys and values. The float-FMA key tiles
    // and the warp per key must agree to float32 rounding, not only to the bf16 tolerance all keep
    // against ND4J; the tensor-core tiles round the queries and the probabilities to bf16 for their
    // products as well (as flash attention does), so they agree to MMA_TOLERANCE.
    Map<String, float[]> warpPerKey = outputs.get("bf16 FLASH warp-per-key");
    Map<String, Double> kernels =
        Map.of("bf16 FLASH fma-key-tiles", TOLERANCE, "bf16 FLASH", MMA_TOLERANCE);
    for (Map.Entry<String, Double> kernel : kernels.entrySet()) {
      Map<String, float[]> tiles = outputs.get(kernel.getKey());
      for (String name : tiles.keySet()) {
        // (outputs only: products of their bf16 copies are checked against ND4J above)
        if (name.startsWith("reduced.")
            && !name.endsWith("Product")
            && (name.toLowerCase(java.util.Locale.ROOT).contains("cache")
                || name.contains("sharedPrompt"))) {
          double error = OpsCases.relativeError(tiles.get(name), warpPerKey.get(name));
          System.out.printf("%s vs warp per key %-32s %10.3e%n", kernel.getKey(), name, error);
          if (!(error <= kernel.getValue())) {
            failures.add(kernel.getKey() + " vs warp per key " + name + " (" + error + ")");
          }
        }
      }
    }
    assertTrue(failures.isEmpty(), "outside the tolerance: " + failures);
  }
}
