package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * The key-tile attention's launch layout: what the H100 measurements chose, and smaller layouts on
 * GPUs with less shared memory a block (no GPU needed: the choice is arithmetic).
 */
class KeyTileLayoutTest {
  /** MMA_STAGE(64) and MMA_STAGE(128) in bytes. */
  private static final int HD64 = 2 * 2 * 32 * 72;

  private static final int HD128 = 2 * 2 * 32 * 136;

  /** The H100's 227 KB a block, less the kernels' static shared memory. */
  private static final long H100 = 232_448 - 16 * 1024;

  /** sm_86 / sm_89 (A10, L4, L40S): 99 KB a block, less the static part. */
  private static final long SM89 = 101_376 - 16 * 1024;

  @Test
  void theH100KeepsTheMeasuredLayouts() {
    assertEquals(new CudaOps.KeyTileLayout(4, 2, 4 * 2 * HD64), choose(4, 2, HD64, H100));
    assertEquals(new CudaOps.KeyTileLayout(8, 1, 8 * HD64), choose(8, 2, HD64, H100));
    assertEquals(new CudaOps.KeyTileLayout(8, 1, 8 * HD128), choose(8, 2, HD128, H100));
    assertEquals(new CudaOps.KeyTileLayout(4, 1, 4 * HD64), choose(4, 1, HD64, H100));
  }

  @Test
  void smallerGpusGetFewerStagesThenFewerWarps() {
    assertEquals(new CudaOps.KeyTileLayout(8, 1, 8 * HD64), choose(8, 2, HD64, SM89));
    assertEquals(new CudaOps.KeyTileLayout(4, 1, 4 * HD128), choose(8, 2, HD128, SM89));
    assertEquals(new CudaOps.KeyTileLayout(1, 1, HD128), choose(8, 2, HD128, HD128));
    assertNull(choose(8, 2, HD128, HD128 - 1), "not even one warp fits: the rows kernel");
  }

  private static CudaOps.KeyTileLayout choose(int warps, int stages, int stageBytes, long limit) {
    return CudaOps.KeyTileLayout.choose(warps, stages, stageBytes, limit);
  }
}
