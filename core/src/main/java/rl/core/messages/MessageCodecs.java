package rl.core.messages;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import rl.core.safetensors.FloatTensor;

/** The event-bus codecs of the run's messages; register them once per Vert.x instance. */
public final class MessageCodecs {
  private MessageCodecs() {}

  /** Registers every codec as the default codec of its message type. */
  public static void register(EventBus bus) {
    bus.registerDefaultCodec(SampleRequest.class, new SampleRequestCodec());
    bus.registerDefaultCodec(RolloutGroup.class, new RolloutGroupCodec());
    bus.registerDefaultCodec(AdapterUpdate.class, new AdapterUpdateCodec());
    bus.registerDefaultCodec(ScoredGroup.class, new ScoredGroupCodec());
    bus.registerDefaultCodec(SampleBatch.class, new SampleBatchCodec());
  }

  static final class SampleBatchCodec extends BinaryCodec<SampleBatch> {
    private final SampleRequestCodec request = new SampleRequestCodec();

    SampleBatchCodec() {
      super(SampleBatch.class);
    }

    @Override
    void write(Buffer out, SampleBatch batch) {
      out.appendInt(batch.requests().size());
      batch.requests().forEach(r -> request.write(out, r));
    }

    @Override
    SampleBatch read(Reader in) {
      int count = in.readInt();
      List<SampleRequest> requests = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        requests.add(request.read(in));
      }
      return new SampleBatch(requests);
    }
  }

  static final class ScoredGroupCodec extends BinaryCodec<ScoredGroup> {
    private final RolloutGroupCodec rollouts = new RolloutGroupCodec();

    ScoredGroupCodec() {
      super(ScoredGroup.class);
    }

    @Override
    void write(Buffer out, ScoredGroup g) {
      rollouts.write(out, g.rollouts());
      out.appendInt(g.rewards().length);
      for (double r : g.rewards()) {
        out.appendDouble(r);
      }
    }

    @Override
    ScoredGroup read(Reader in) {
      RolloutGroup group = rollouts.read(in);
      double[] rewards = new double[in.readInt()];
      for (int i = 0; i < rewards.length; i++) {
        rewards[i] = in.readDouble();
      }
      return new ScoredGroup(group, rewards);
    }
  }

  static final class SampleRequestCodec extends BinaryCodec<SampleRequest> {
    SampleRequestCodec() {
      super(SampleRequest.class);
    }

    @Override
    void write(Buffer out, SampleRequest r) {
      writeString(out, r.requestId());
      writeInts(out, r.promptTokens());
      out.appendInt(r.groupSize());
      SamplingParams p = r.params();
      out.appendDouble(p.temperature());
      out.appendDouble(p.topP());
      out.appendInt(p.topK());
      out.appendDouble(p.minP());
      out.appendInt(p.maxTokens());
      out.appendInt(p.stop().size());
      p.stop().forEach(s -> writeString(out, s));
      out.appendLong(p.seed());
    }

    @Override
    SampleRequest read(Reader in) {
      String id = in.readString();
      int[] prompt = in.readInts();
      int group = in.readInt();
      double temperature = in.readDouble();
      double topP = in.readDouble();
      int topK = in.readInt();
      double minP = in.readDouble();
      int maxTokens = in.readInt();
      int stops = in.readInt();
      List<String> stop = new ArrayList<>();
      for (int i = 0; i < stops; i++) {
        stop.add(in.readString());
      }
      long seed = in.readLong();
      return new SampleRequest(
          id,
          prompt,
          group,
          new SamplingParams(temperature, topP, topK, minP, maxTokens, stop, seed));
    }
  }

  static final class RolloutGroupCodec extends BinaryCodec<RolloutGroup> {
    RolloutGroupCodec() {
      super(RolloutGroup.class);
    }

    @Override
    void write(Buffer out, RolloutGroup g) {
      writeString(out, g.requestId());
      writeInts(out, g.promptTokens());
      out.appendInt(g.completions().size());
      for (Completion c : g.completions()) {
        writeInts(out, c.tokens());
        writeFloats(out, c.logprobs());
        writeInts(out, c.versions());
        out.appendInt(c.finishReason().ordinal());
      }
    }

    @Override
    RolloutGroup read(Reader in) {
      String id = in.readString();
      int[] prompt = in.readInts();
      int count = in.readInt();
      List<Completion> completions = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int[] tokens = in.readInts();
        float[] logprobs = in.readFloats();
        int[] versions = in.readInts();
        int reason = in.readInt();
        if (reason < 0 || reason >= FinishReason.values().length) {
          throw new IllegalArgumentException("unknown finish reason code " + reason);
        }
        completions.add(new Completion(tokens, logprobs, versions, FinishReason.values()[reason]));
      }
      return new RolloutGroup(id, prompt, completions);
    }
  }

  static final class AdapterUpdateCodec extends BinaryCodec<AdapterUpdate> {
    AdapterUpdateCodec() {
      super(AdapterUpdate.class);
    }

    @Override
    void write(Buffer out, AdapterUpdate u) {
      if (!u.onDevice().isEmpty()) {
        throw new IllegalStateException(
            "adapter update "
                + u.version()
                + " is a device snapshot, valid only in the process that made it; a sampler in"
                + " another process needs an update by value (Learner.adapterUpdate without"
                + " colocated sync)");
      }
      out.appendInt(u.version());
      out.appendInt(u.tensors().size());
      for (Map.Entry<String, FloatTensor> e : u.tensors().entrySet()) {
        writeString(out, e.getKey());
        writeLongs(out, e.getValue().shape());
        writeFloats(out, e.getValue().data());
      }
    }

    @Override
    AdapterUpdate read(Reader in) {
      int version = in.readInt();
      int count = in.readInt();
      Map<String, FloatTensor> tensors = new LinkedHashMap<>();
      for (int i = 0; i < count; i++) {
        String name = in.readString();
        long[] shape = in.readLongs();
        tensors.put(name, new FloatTensor(in.readFloats(), shape));
      }
      return new AdapterUpdate(version, tensors);
    }
  }
}
