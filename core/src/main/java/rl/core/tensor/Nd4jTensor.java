package rl.core.tensor;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link Tensor} held in an ND4J array on the host. Row-major with unit column stride, so a row
 * is a contiguous run of the underlying buffer that Java loops can read and write in bulk.
 */
final class Nd4jTensor implements Tensor {
  final INDArray array;
  private final FloatBuffer buffer;
  private final int offset;
  private final int rowStride;
  private final int rows;
  private final int cols;

  Nd4jTensor(INDArray array) {
    // A single row may be reported in either order; what matters is unit column stride.
    boolean rowMajor =
        array.rank() == 2
            && (array.columns() == 1 || array.stride(1) == 1)
            && (array.rows() == 1 || array.stride(0) >= array.columns());
    if (!rowMajor) {
      throw new IllegalArgumentException(
          "Nd4jTensor needs a row-major [rows, cols] array, got shape "
              + java.util.Arrays.toString(array.shape())
              + " strides "
              + java.util.Arrays.toString(array.stride()));
    }
    this.array = array;
    this.rows = (int) array.rows();
    this.cols = (int) array.columns();
    this.buffer = array.data().asNioFloat();
    this.offset = Math.toIntExact(array.offset());
    this.rowStride = rows > 1 ? Math.toIntExact(array.stride(0)) : cols;
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int cols() {
    return cols;
  }

  /** Buffer index of element (r, c). */
  int index(int r, int c) {
    return offset + r * rowStride + c;
  }

  float get(int r, int c) {
    return buffer.get(index(r, c));
  }

  void set(int r, int c, float value) {
    buffer.put(index(r, c), value);
  }

  /** Copies {@code length} elements of row r from column c into {@code dst[at...]}. */
  void read(int r, int c, float[] dst, int at, int length) {
    buffer.get(index(r, c), dst, at, length);
  }

  void write(int r, int c, float[] src, int at, int length) {
    buffer.put(index(r, c), src, at, length);
  }

  void readRow(int r, float[] dst) {
    read(r, 0, dst, 0, cols);
  }

  void writeRow(int r, float[] src) {
    write(r, 0, src, 0, cols);
  }

  @Override
  public String toString() {
    return "Nd4jTensor" + shapeString();
  }
}
