package rl.core.messages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import rl.core.safetensors.FloatTensor;

/** Messages survive the wire format a clustered event bus uses. */
class MessageCodecsTest {
  private static <T> T roundTrip(BinaryCodec<T> codec, T message) {
    Buffer buffer = Buffer.buffer().appendString("prefix");
    codec.encodeToWire(buffer, message);
    return codec.decodeFromWire(6, buffer);
  }

  @Test
  void sampleRequest() {
    SampleRequest request =
        new SampleRequest(
            "r-ü",
            new int[] {5, 6, 7},
            3,
            new SamplingParams(0.7, 0.9, 40, 0.05, 99, List.of("</answer>", "\n\n"), 123));
    SampleRequest back = roundTrip(new MessageCodecs.SampleRequestCodec(), request);
    assertEquals(request.requestId(), back.requestId());
    assertArrayEquals(request.promptTokens(), back.promptTokens());
    assertEquals(request.groupSize(), back.groupSize());
    assertEquals(request.params(), back.params());
  }

  @Test
  void rolloutGroup() {
    RolloutGroup group =
        new RolloutGroup(
            "g",
            new int[] {1, 2},
            List.of(
                new Completion(
                    new int[] {3, 4},
                    new float[] {-0.5f, -1.25f},
                    new int[] {0, 1},
                    FinishReason.STOP),
                new Completion(new int[0], new float[0], new int[0], FinishReason.ABORTED)));
    RolloutGroup back = roundTrip(new MessageCodecs.RolloutGroupCodec(), group);
    assertEquals("g", back.requestId());
    assertEquals(2, back.completions().size());
    Completion c = back.completions().getFirst();
    assertArrayEquals(new int[] {3, 4}, c.tokens());
    assertArrayEquals(new float[] {-0.5f, -1.25f}, c.logprobs());
    assertArrayEquals(new int[] {0, 1}, c.versions());
    assertEquals(FinishReason.STOP, c.finishReason());
    assertEquals(FinishReason.ABORTED, back.completions().get(1).finishReason());
  }

  @Test
  void adapterUpdateIsBitExact() {
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    tensors.put(
        "a", new FloatTensor(new float[] {1.5f, Float.NaN, -0f, 3e-38f}, new long[] {2, 2}));
    tensors.put("b", new FloatTensor(new float[] {7f}, new long[] {1, 1}));
    AdapterUpdate back =
        roundTrip(new MessageCodecs.AdapterUpdateCodec(), new AdapterUpdate(9, tensors));
    assertEquals(9, back.version());
    assertArrayEquals(new long[] {2, 2}, back.tensors().get("a").shape());
    float[] a = back.tensors().get("a").data();
    for (int i = 0; i < a.length; i++) {
      assertEquals(
          Float.floatToRawIntBits(tensors.get("a").data()[i]), Float.floatToRawIntBits(a[i]));
    }
  }

  @Test
  void aDeviceSnapshotRefusesToLeaveItsProcess() {
    rl.core.tensor.Ops ops = new rl.core.tensor.Nd4jOps();
    AdapterUpdate update =
        AdapterUpdate.onDevice(3, Map.of("a", ops.upload(new float[] {1f, 2f}, 1, 2)));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> new MessageCodecs.AdapterUpdateCodec().encodeToWire(Buffer.buffer(), update));
    assertTrue(e.getMessage().contains("adapter update 3 is a device snapshot"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new AdapterUpdate(
                4,
                Map.of("a", new FloatTensor(new float[] {1f}, new long[] {1, 1})),
                Map.of("a", ops.upload(new float[] {1f}, 1, 1)),
                () -> {}));
  }

  @Test
  void truncatedBytesAreAnError() {
    Buffer buffer = Buffer.buffer();
    new MessageCodecs.SampleRequestCodec()
        .encodeToWire(buffer, new SampleRequest("x", new int[] {1}, 1, SamplingParams.greedy(4)));
    // Claim a longer body than there is.
    buffer.setInt(0, buffer.length());
    Buffer cut = buffer.getBuffer(0, buffer.length() - 8);
    assertThrows(
        IllegalArgumentException.class,
        () -> new MessageCodecs.SampleRequestCodec().decodeFromWire(0, cut));
  }
}
