package rl.core.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes float32 tensors as a safetensors file.
 *
 * <p>The file is written under a temporary name in the target directory, forced to disk and then
 * renamed over the target atomically, so a reader (or a crash) never sees half a file.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Bytes staged per write call. */
  private static final int CHUNK_BYTES = 1 << 20;

  private SafetensorsWriter() {}

  /**
   * Writes {@code tensors} as F32 in their iteration order (pass a {@link
   * java.util.LinkedHashMap}), with {@code metadata} (may be empty or null) as {@code
   * __metadata__}.
   */
  public static void write(
      Path file, Map<String, FloatTensor> tensors, Map<String, String> metadata) {
    byte[] header = header(file, tensors, metadata);
    Path dir = file.toAbsolutePath().getParent();
    Path temp = null;
    try {
      temp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(header.length).flip();
        writeFully(channel, buffer);
        writeFully(channel, ByteBuffer.wrap(header));
        for (FloatTensor tensor : tensors.values()) {
          float[] data = tensor.data();
          for (int start = 0; start < data.length; start += CHUNK_BYTES / 4) {
            int len = Math.min(CHUNK_BYTES / 4, data.length - start);
            buffer.clear();
            buffer.asFloatBuffer().put(data, start, len);
            buffer.limit(len * 4);
            writeFully(channel, buffer);
          }
        }
        channel.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
    } catch (IOException e) {
      throw new SafetensorsException(file + ": cannot write: " + e, e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // The write already failed; that error is the one worth reporting.
        }
      }
    }
  }

  /** The JSON header, padded with spaces so the data section starts 8-byte aligned. */
  private static byte[] header(
      Path file, Map<String, FloatTensor> tensors, Map<String, String> metadata) {
    ObjectNode root = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = root.putObject(SafetensorsFile.METADATA_KEY);
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, FloatTensor> entry : tensors.entrySet()) {
      String name = entry.getKey();
      if (name == null || name.isEmpty() || name.equals(SafetensorsFile.METADATA_KEY)) {
        throw new SafetensorsException(
            file + ": invalid tensor name '" + name + "' (empty or reserved)");
      }
      FloatTensor tensor = entry.getValue();
      long bytes = (long) tensor.data().length * DType.F32.byteSize();
      ObjectNode node = root.putObject(name);
      node.put("dtype", DType.F32.name());
      var shape = node.putArray("shape");
      for (long dim : tensor.shape()) {
        shape.add(dim);
      }
      node.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] header = new byte[padded];
    System.arraycopy(json, 0, header, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      header[i] = ' ';
    }
    return header;
  }

  private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }
}
