package rl.core.safetensors;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The safetensors element types this project can read. Every one is converted to float32 on read.
 * Other types that may appear in a file (I8, I32, F8_E4M3, BOOL, ...) are reported as unsupported
 * when such a tensor is used; see {@link SafetensorsFile}.
 */
public enum DType {
  F64(8),
  F32(4),
  F16(2),
  BF16(2);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The type named {@code name} as written in a safetensors header, or null if unsupported. */
  public static DType fromHeaderName(String name) {
    for (DType type : values()) {
      if (type.name().equals(name)) {
        return type;
      }
    }
    return null;
  }

  /** "F64, F32, F16, BF16", for error messages. */
  public static String supportedList() {
    return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
  }
}
