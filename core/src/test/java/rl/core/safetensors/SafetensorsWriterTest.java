package rl.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
  @TempDir Path dir;

  private static Map<String, FloatTensor> sample() {
    Random random = new Random(42);
    float[] big = new float[300_000]; // more than one write chunk
    for (int i = 0; i < big.length; i++) {
      big[i] = (float) random.nextGaussian();
    }
    float[] special = {
      -0f,
      Float.MIN_VALUE,
      Float.MAX_VALUE,
      Float.NaN,
      Float.intBitsToFloat(0x7fc00001),
      Float.NEGATIVE_INFINITY
    };
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    tensors.put("z.big", new FloatTensor(big, new long[] {600, 500}));
    tensors.put("a.special", new FloatTensor(special, new long[] {2, 3}));
    tensors.put("m.scalar", new FloatTensor(new float[] {3f}, new long[] {}));
    return tensors;
  }

  @Test
  void roundTripIsBitExactAndKeepsOrderAndMetadata() {
    Map<String, FloatTensor> tensors = sample();
    Path file = dir.resolve("out.safetensors");
    SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
    try (SafetensorsFile read = SafetensorsFile.open(file)) {
      assertEquals(List.copyOf(tensors.keySet()), List.copyOf(read.names()));
      assertEquals(Map.of("format", "pt"), read.metadata());
      for (Map.Entry<String, FloatTensor> entry : tensors.entrySet()) {
        TensorInfo info = read.info(entry.getKey());
        assertEquals(DType.F32, info.dtype());
        assertArrayEquals(entry.getValue().shape(), info.shape());
        assertArrayEquals(bits(entry.getValue().data()), bits(read.readFloats(entry.getKey())));
      }
    }
  }

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }

  @Test
  void headerIsPaddedJsonWithContiguousOffsets() throws IOException {
    Path file = dir.resolve("out.safetensors");
    SafetensorsWriter.write(file, sample(), null);
    byte[] content = Files.readAllBytes(file);
    long headerLength = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8);
    JsonNode header =
        new ObjectMapper().readTree(new String(content, 8, (int) headerLength, "UTF-8"));
    assertEquals(null, header.get("__metadata__"));
    assertEquals("[0,1200000]", header.get("z.big").get("data_offsets").toString());
    assertEquals("[1200000,1200024]", header.get("a.special").get("data_offsets").toString());
    assertEquals("[1200024,1200028]", header.get("m.scalar").get("data_offsets").toString());
    assertEquals("[]", header.get("m.scalar").get("shape").toString());
    assertEquals(8 + headerLength + 1200028, content.length);
  }

  @Test
  void replacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
    Path file = dir.resolve("adapter_model.safetensors");
    Files.writeString(file, "old contents");
    Map<String, FloatTensor> one =
        Map.of("w", new FloatTensor(new float[] {1f, 2f}, new long[] {2}));
    SafetensorsWriter.write(file, one, Map.of());
    try (SafetensorsFile read = SafetensorsFile.open(file)) {
      assertArrayEquals(new float[] {1f, 2f}, read.readFloats("w"));
    }
    try (Stream<Path> listing = Files.list(dir)) {
      assertEquals(List.of(file), listing.toList());
    }
  }

  @Test
  void floatTensorChecksDataAgainstShape() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new FloatTensor(new float[5], new long[] {2, 3}));
    assertEquals("shape [2, 3] needs 6 elements, data has 5", e.getMessage());
  }
}
