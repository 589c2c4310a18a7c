package rl.core.tensor;

/**
 * A float32 matrix {@code [rows, cols]}, row-major, owned by one {@link Ops} backend (host or
 * device memory). Every activation, weight and gradient of the decoder is one of these; a batch of
 * sequences is packed along the rows.
 */
public interface Tensor {
  int rows();

  int cols();

  default long size() {
    return (long) rows() * cols();
  }

  default String shapeString() {
    return "[" + rows() + ", " + cols() + "]";
  }

  /**
   * Throws, naming {@code what}, unless {@code t} is {@code [rows, cols]}: backends' argument
   * check.
   */
  /**
   * Throws unless {@code out [m, n] = op(a) [m, k] · op(b) [k, n]} fits, op transposing when asked,
   * for operands of the given shapes: backends' matrix-product check.
   */
  static void requireProductShapes(
      long aRows,
      long aCols,
      boolean transA,
      long bRows,
      long bCols,
      boolean transB,
      long outRows,
      long outCols) {
    long m = transA ? aCols : aRows;
    long k = transA ? aRows : aCols;
    long kb = transB ? bCols : bRows;
    long n = transB ? bRows : bCols;
    if (k != kb || outRows != m || outCols != n) {
      throw new IllegalArgumentException(
          "gemm shapes: op(a) ["
              + m
              + ", "
              + k
              + "] · op(b) ["
              + kb
              + ", "
              + n
              + "] into ["
              + outRows
              + ", "
              + outCols
              + "]");
    }
  }

  /** {@link Ops#copyColumns}'s shapes: {@code out} is a block of {@code in}'s columns. */
  static void requireColumnBlock(Tensor out, Tensor in, int first) {
    if (out.rows() != in.rows() || first < 0 || first + out.cols() > in.cols()) {
      throw new IllegalArgumentException(
          "copyColumns: columns ["
              + first
              + ", "
              + (first + out.cols())
              + ") of "
              + in.shapeString()
              + " do not fit output "
              + out.shapeString()
              + " (expected the same rows and first + width <= the input's columns)");
    }
  }

  static void requireShape(String what, Tensor t, int rows, int cols) {
    if (t.rows() != rows || t.cols() != cols) {
      throw new IllegalArgumentException(
          what + " has shape " + t.shapeString() + ", expected [" + rows + ", " + cols + "]");
    }
  }
}
