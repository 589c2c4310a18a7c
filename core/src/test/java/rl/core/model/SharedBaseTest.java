package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;

/** {@link Decoder#sharingBaseWeights}: one copy of the base, two independent adapters. */
class SharedBaseTest {
  private static final List<int[]> SEQUENCES =
      List.of(new int[] {1, 5, 3, 9, 2}, new int[] {4, 4, 7, 0});

  @Test
  void sharesEveryBaseTensorButNotTheAdapter() {
    Ops ops = new Nd4jOps();
    Decoder learner = Decoder.random(HfModelConfig.of("qwen2", 16, 24, 2, 4, 2, 11), ops, 3, 0.3);
    Decoder sampler = learner.sharingBaseWeights();
    List<Parameter> a = learner.parameters();
    List<Parameter> b = sampler.parameters();
    for (int i = 0; i < a.size(); i++) {
      assertSame(a.get(i).value(), b.get(i).value(), a.get(i).name());
    }
    float[][] before = logprobs(sampler);
    assertArrayEquals(flat(logprobs(learner)), flat(before));

    // An adapter trained on the learner's side leaves the sampler's projections untouched...
    LoraAdapter adapter =
        LoraAdapter.create(
            learner,
            new LoraConfig(1, 4, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            5);
    Random random = new Random(13);
    for (Parameter p : adapter.parameters()) {
      float[] v = new float[(int) p.value().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * 0.5);
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
    }
    for (Linear linear : sampler.linears()) {
      assertNull(linear.loraA(), linear.module());
    }
    assertArrayEquals(flat(before), flat(logprobs(sampler)));
    assertFalse(Arrays.equals(flat(before), flat(logprobs(learner))), "the adapter acts");

    // ...and the same adapter values on the sampler give the learner's logprobs exactly.
    LoraAdapter copy =
        LoraAdapter.create(
            sampler,
            new LoraConfig(1, 4, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            5);
    for (int i = 0; i < adapter.parameters().size(); i++) {
      Parameter from = adapter.parameters().get(i);
      copy.parameters()
          .get(i)
          .setValue(
              ops.upload(ops.download(from.value()), from.value().rows(), from.value().cols()));
    }
    assertArrayEquals(flat(logprobs(learner)), flat(logprobs(sampler)));
  }

  private static float[][] logprobs(Decoder model) {
    return model.sequenceLogprobs(model.newActivations(9, false), SEQUENCES, 1f);
  }

  private static float[] flat(float[][] x) {
    int n = 0;
    for (float[] r : x) {
      n += r.length;
    }
    float[] out = new float[n];
    int at = 0;
    for (float[] r : x) {
      System.arraycopy(r, 0, out, at, r.length);
      at += r.length;
    }
    return out;
  }
}
