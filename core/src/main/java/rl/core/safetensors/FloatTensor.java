package rl.core.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * A float32 tensor to be written by {@link SafetensorsWriter}: row-major {@code data} with the
 * given {@code shape}. The data array is held, not copied, so writing a large tensor costs no extra
 * memory.
 */
public record FloatTensor(float[] data, long[] shape) {

  public FloatTensor {
    Objects.requireNonNull(data, "data");
    shape = shape.clone();
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
    }
    long expected = TensorInfo.product(shape);
    if (data.length != expected) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shape)
              + " needs "
              + expected
              + " elements, data has "
              + data.length);
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }
}
