package rl.core.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where one tensor lies in a safetensors file.
 *
 * @param name the tensor's key in the header
 * @param dtype its element type
 * @param shape its dimensions, outermost first (row-major); empty for a scalar
 * @param begin first byte, relative to the start of the data section
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    shape = shape.clone();
  }

  /** The product of the shape (1 for a scalar). */
  public long elementCount() {
    return product(shape);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  static long product(long[] shape) {
    long count = 1;
    for (long dim : shape) {
      count = Math.multiplyExact(count, dim);
    }
    return count;
  }

  // Records compare arrays by identity; a shape is a value.
  @Override
  public boolean equals(Object other) {
    return other instanceof TensorInfo that
        && name.equals(that.name)
        && dtype == that.dtype
        && Arrays.equals(shape, that.shape)
        && begin == that.begin
        && end == that.end;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
  }

  @Override
  public String toString() {
    return name
        + " "
        + dtype
        + " "
        + Arrays.toString(shape)
        + " bytes ["
        + begin
        + ", "
        + end
        + ")";
  }
}
