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
  static void requireShape(String what, Tensor t, int rows, int cols) {
    if (t.rows() != rows || t.cols() != cols) {
      throw new IllegalArgumentException(
          what + " has shape " + t.shapeString() + ", expected [" + rows + ", " + cols + "]");
    }
  }
}
