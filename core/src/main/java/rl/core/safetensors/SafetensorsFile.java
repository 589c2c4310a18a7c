package rl.core.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileChannel.MapMode;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file, memory-mapped read-only.
 *
 * <p>Layout: an 8-byte little-endian unsigned header length N, N bytes of JSON header, then the
 * data section. The header maps each tensor name to {@code {"dtype", "shape", "data_offsets":
 * [begin, end]}} (offsets relative to the data section) plus an optional {@code __metadata__}
 * object of string to string.
 *
 * <p>{@link #open} checks the whole header: its length, that it is a JSON object, that every tensor
 * entry is complete, that each tensor's byte span matches shape × element size (for the supported
 * types) and that every span lies inside the data section. A tensor whose dtype is not one of
 * {@link DType} (I8, F8_E4M3, BOOL, ...) does not fail the open; it is listed by {@link #names()}
 * and reported as unsupported when {@link #info} or {@link #readFloats} asks for it, so the rest of
 * such a file stays usable. Holes between tensors are tolerated.
 *
 * <p>The mapping is a {@link MemorySegment} of a shared arena, so files over 2 GiB work and any
 * thread may read concurrently. {@link #close()} unmaps; reading afterwards is an error.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** The format's own limit: a larger header means a corrupt or hostile file. */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  static final String METADATA_KEY = "__metadata__";

  private static final ValueLayout.OfFloat F32_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfDouble F64_LE =
      ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort U16_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64_LE =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Elements converted per bulk copy for the types that need a staging array. */
  private static final int CHUNK = 1 << 16;

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  /** A header entry; {@code dtype} is null when {@code dtypeName} is not a supported type. */
  private record Entry(String dtypeName, DType dtype, long[] shape, long begin, long end) {}

  private final Path path;
  private final Arena arena;
  private final MemorySegment data;
  private final Map<String, String> metadata;
  private final Map<String, Entry> entries;
  private volatile boolean closed;

  private SafetensorsFile(
      Path path,
      Arena arena,
      MemorySegment data,
      Map<String, String> metadata,
      Map<String, Entry> entries) {
    this.path = path;
    this.arena = arena;
    this.data = data;
    this.metadata = Collections.unmodifiableMap(metadata);
    this.entries = Collections.unmodifiableMap(entries);
  }

  /** Maps {@code file} and validates its header; see the class comment for what is checked. */
  public static SafetensorsFile open(Path file) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < 8) {
        throw error(
            file,
            "truncated: expected at least the 8-byte header length, found a file of "
                + size
                + " bytes");
      }
      Arena arena = Arena.ofShared();
      try {
        MemorySegment whole = channel.map(MapMode.READ_ONLY, 0, size, arena);
        long headerLength = whole.get(U64_LE, 0);
        // Unsigned compare: a length with the top bit set is "huge", not negative.
        if (Long.compareUnsigned(headerLength, MAX_HEADER_BYTES) > 0) {
          throw error(
              file,
              "header length "
                  + Long.toUnsignedString(headerLength)
                  + " bytes exceeds the limit of "
                  + MAX_HEADER_BYTES
                  + " bytes (100 MiB); not a safetensors file, or corrupt");
        }
        if (headerLength > size - 8) {
          throw error(
              file,
              "truncated: header length says "
                  + headerLength
                  + " bytes, but only "
                  + (size - 8)
                  + " bytes follow the 8-byte length");
        }
        byte[] headerBytes = whole.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        MemorySegment data = whole.asSlice(8 + headerLength);
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        parseHeader(file, headerBytes, data.byteSize(), metadata, entries);
        return new SafetensorsFile(file, arena, data, metadata, entries);
      } catch (RuntimeException e) {
        arena.close();
        throw e;
      }
    } catch (NoSuchFileException e) {
      throw error(file, "no such file");
    } catch (IOException e) {
      throw new SafetensorsException(file + ": cannot read: " + e, e);
    }
  }

  private static void parseHeader(
      Path file,
      byte[] headerBytes,
      long dataSize,
      Map<String, String> metadata,
      Map<String, Entry> entries) {
    JsonNode header;
    try {
      header = JSON.readTree(headerBytes);
    } catch (JsonProcessingException e) {
      throw error(file, "header is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new SafetensorsException(file + ": cannot parse header: " + e, e);
    }
    if (header == null || !header.isObject()) {
      String found =
          header == null || header.isMissingNode()
              ? "an empty header"
              : header.getNodeType().toString().toLowerCase(Locale.ROOT);
      throw error(file, "header must be a JSON object, found " + found);
    }
    for (Map.Entry<String, JsonNode> field : header.properties()) {
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (name.equals(METADATA_KEY)) {
        parseMetadata(file, value, metadata);
      } else {
        entries.put(name, parseEntry(file, name, value, dataSize));
      }
    }
  }

  private static void parseMetadata(Path file, JsonNode node, Map<String, String> metadata) {
    if (!node.isObject()) {
      throw error(
          file, "'" + METADATA_KEY + "' must be an object of strings, found " + node.toString());
    }
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      if (!field.getValue().isTextual()) {
        throw error(
            file,
            "'"
                + METADATA_KEY
                + "."
                + field.getKey()
                + "' must be a string, found "
                + field.getValue());
      }
      metadata.put(field.getKey(), field.getValue().asText());
    }
  }

  private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
    String where = "tensor '" + name + "'";
    if (!node.isObject()) {
      throw error(
          file, where + ": expected an object with dtype, shape, data_offsets, found " + node);
    }
    JsonNode dtypeNode = required(file, where, node, "dtype");
    if (!dtypeNode.isTextual()) {
      throw error(file, where + ": 'dtype' must be a string, found " + dtypeNode);
    }
    String dtypeName = dtypeNode.asText();
    long[] shape = nonNegativeLongs(file, where, "shape", required(file, where, node, "shape"));
    long[] offsets =
        nonNegativeLongs(file, where, "data_offsets", required(file, where, node, "data_offsets"));
    if (offsets.length != 2) {
      throw error(
          file,
          where + ": 'data_offsets' must be [begin, end], found " + offsets.length + " numbers");
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (end < begin) {
      throw error(file, where + ": 'data_offsets' [" + begin + ", " + end + "] end before begin");
    }
    DType dtype = DType.fromHeaderName(dtypeName);
    if (dtype != null) {
      long needed;
      try {
        needed = Math.multiplyExact(TensorInfo.product(shape), dtype.byteSize());
      } catch (ArithmeticException e) {
        throw error(file, where + ": shape " + Arrays.toString(shape) + " overflows 64 bits");
      }
      if (end - begin != needed) {
        throw error(
            file,
            where
                + ": data_offsets ["
                + begin
                + ", "
                + end
                + "] span "
                + (end - begin)
                + " bytes, but shape "
                + Arrays.toString(shape)
                + " of "
                + dtype
                + " needs "
                + needed
                + " bytes");
      }
    }
    if (end > dataSize) {
      throw error(
          file,
          "truncated: "
              + where
              + " needs data bytes up to "
              + end
              + ", the data section has "
              + dataSize);
    }
    return new Entry(dtypeName, dtype, shape, begin, end);
  }

  private static JsonNode required(Path file, String where, JsonNode node, String key) {
    JsonNode value = node.get(key);
    if (value == null || value.isNull()) {
      throw error(file, where + ": missing '" + key + "'");
    }
    return value;
  }

  private static long[] nonNegativeLongs(Path file, String where, String key, JsonNode node) {
    if (!node.isArray()) {
      throw error(file, where + ": '" + key + "' must be an array of integers, found " + node);
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode item = node.get(i);
      if (!item.isIntegralNumber() || !item.canConvertToLong() || item.asLong() < 0) {
        throw error(file, where + ": '" + key + "' must hold non-negative integers, found " + node);
      }
      values[i] = item.asLong();
    }
    return values;
  }

  /** The file this was opened from. */
  public Path path() {
    return path;
  }

  /** The {@code __metadata__} entry (string to string), empty when the file has none. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Every tensor name in header order, including tensors of unsupported types. */
  public Set<String> names() {
    return entries.keySet();
  }

  public boolean contains(String name) {
    return entries.containsKey(name);
  }

  /** Where tensor {@code name} lies; an error if it is absent or of an unsupported type. */
  public TensorInfo info(String name) {
    Entry entry = entry(name);
    return new TensorInfo(name, entry.dtype, entry.shape, entry.begin, entry.end);
  }

  /**
   * Tensor {@code name} converted to float32, row-major: F32 is copied, F64 is rounded to nearest,
   * F16 and BF16 are widened exactly.
   */
  public float[] readFloats(String name) {
    Entry entry = entry(name);
    long count = TensorInfo.product(entry.shape);
    // Java arrays stop just short of Integer.MAX_VALUE elements.
    if (count > Integer.MAX_VALUE - 8) {
      throw error(
          path,
          "tensor '"
              + name
              + "' has "
              + count
              + " elements, more than a Java float[] can hold; read it in slices via rawBytes");
    }
    int n = (int) count;
    float[] out = new float[n];
    MemorySegment bytes = slice(entry);
    switch (entry.dtype) {
      case F32 -> MemorySegment.copy(bytes, F32_LE, 0, out, 0, n);
      case F64 -> {
        double[] staging = new double[Math.min(n, CHUNK)];
        for (int start = 0; start < n; start += CHUNK) {
          int len = Math.min(CHUNK, n - start);
          MemorySegment.copy(bytes, F64_LE, (long) start * 8, staging, 0, len);
          for (int i = 0; i < len; i++) {
            out[start + i] = (float) staging[i];
          }
        }
      }
      case F16, BF16 -> {
        boolean bf16 = entry.dtype == DType.BF16;
        short[] staging = new short[Math.min(n, CHUNK)];
        for (int start = 0; start < n; start += CHUNK) {
          int len = Math.min(CHUNK, n - start);
          MemorySegment.copy(bytes, U16_LE, (long) start * 2, staging, 0, len);
          for (int i = 0; i < len; i++) {
            // bfloat16 is the top half of a float32; float16 needs a real conversion.
            out[start + i] =
                bf16 ? Float.intBitsToFloat(staging[i] << 16) : Float.float16ToFloat(staging[i]);
          }
        }
      }
    }
    return out;
  }

  /**
   * The raw little-endian bytes of tensor {@code name}, read-only, valid until {@link #close()}:
   * for backends that upload F16/BF16 weights without converting, or tensors too large for one Java
   * array.
   */
  public MemorySegment rawBytes(String name) {
    return slice(entry(name));
  }

  private MemorySegment slice(Entry entry) {
    if (closed) {
      throw error(path, "already closed");
    }
    return data.asSlice(entry.begin, entry.end - entry.begin);
  }

  private Entry entry(String name) {
    Entry entry = entries.get(name);
    if (entry == null) {
      throw error(path, "no tensor '" + name + "'." + Names.closeNamesHint(name, entries.keySet()));
    }
    if (entry.dtype == null) {
      throw error(
          path,
          "tensor '"
              + name
              + "' has unsupported dtype "
              + entry.dtypeName
              + "; supported: "
              + DType.supportedList());
    }
    return entry;
  }

  private static SafetensorsException error(Path file, String message) {
    return new SafetensorsException(file + ": " + message);
  }

  /** Unmaps the file. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    arena.close();
  }

  @Override
  public String toString() {
    return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
  }
}
