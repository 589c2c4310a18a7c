package rl.cuda;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;

import java.lang.ref.Cleaner;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import rl.core.tensor.Tensor;

/**
 * A {@code [rows, cols]} row-major matrix in device memory, of float32 or (frozen base weights and
 * KV caches in CudaOps' bf16 precision) bfloat16 elements. Row views ({@link CudaOps#rows}) share
 * their parent's allocation, which is freed when no tensor refers to it any more (a {@link
 * Cleaner}, so device memory follows the Java objects' lifetime).
 */
final class CudaTensor implements Tensor {
  private static final Cleaner CLEANER = Cleaner.create();

  /** One cudaMalloc'd block; freed by the cleaner once unreachable. */
  static final class Allocation {
    final long address;
    final long bytes;

    private Allocation(long address, long bytes) {
      this.address = address;
      this.bytes = bytes;
    }

    static Allocation allocate(Cuda cuda, long bytes) {
      cuda.bind();
      Pointer p = new Pointer();
      int status = cudaMalloc(p, Math.max(bytes, 4));
      if (status != 0) {
        // Device memory follows the Java heap's garbage collection: collect, then try once more.
        System.gc();
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        org.bytedeco.cuda.global.cudart.cudaGetLastError();
        status = cudaMalloc(p, Math.max(bytes, 4));
      }
      Cuda.check(status, "cudaMalloc of " + bytes + " bytes");
      Allocation a = new Allocation(p.address(), bytes);
      long address = p.address();
      CLEANER.register(a, () -> cudaFree(at(address)));
      return a;
    }
  }

  final Allocation allocation;

  /** Byte offset of element [0, 0] in the allocation. */
  final long offset;

  private final int rows;
  private final int cols;

  /** bfloat16 elements (2 bytes) rather than float32 (4 bytes). */
  final boolean bf16;

  CudaTensor(Allocation allocation, long offset, int rows, int cols) {
    this(allocation, offset, rows, cols, false);
  }

  CudaTensor(Allocation allocation, long offset, int rows, int cols, boolean bf16) {
    this.allocation = allocation;
    this.offset = offset;
    this.rows = rows;
    this.cols = cols;
    this.bf16 = bf16;
  }

  /** Bytes per element: 2 for bfloat16, 4 for float32. */
  int elementBytes() {
    return bf16 ? 2 : 4;
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int cols() {
    return cols;
  }

  /** Device address of element [0, 0]. */
  long address() {
    return allocation.address + offset;
  }

  /** A float pointer for cuBLAS at this tensor's first element. */
  FloatPointer floats() {
    return new FloatPointer(at(address()));
  }

  /** A JavaCPP pointer at a raw address, owning nothing. */
  static Pointer at(long deviceAddress) {
    return new Pointer() {
      {
        address = deviceAddress;
      }
    };
  }

  @Override
  public String toString() {
    return (bf16 ? "CudaTensor(bf16)" : "CudaTensor") + shapeString();
  }
}
