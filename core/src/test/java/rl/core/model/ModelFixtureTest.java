package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import rl.core.config.ModelConfig;
import rl.core.lora.LoraAdapter;
import rl.core.safetensors.SafetensorsStore;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;

/**
 * Conformance with Hugging Face transformers + PEFT: every {@code models/NAME/fixture.json} under
 * the fixture root is one test container named NAME, checked at the fixtures README's tolerances. A
 * backend that keeps base weights in bf16 (CudaOps' default precision) is held to the bf16
 * tolerances below instead, and its greedy continuations are not compared (rounding the weights
 * moves logits by more than the gap between near-tied tokens); float32 mode checks them exactly.
 */
class ModelFixtureTest {
  static final double LOGPROB_TOLERANCE = 1e-4;
  static final double LOSS_RELATIVE_TOLERANCE = 1e-5;
  static final double GRADIENT_RELATIVE_TOLERANCE = 1e-3;

  // bf16 weights: 8 significant bits, about 2e-3 relative per weight. On the H100 (2026-11-25,
  // scripts/device-check.sh) the three fixtures showed logprob errors up to 0.042, loss errors up
  // to 1.5e-2 relative and LoRA-gradient errors up to 5.2e-2; the bounds leave about 2x over that.
  static final double BF16_LOGPROB_TOLERANCE = 0.1;
  static final double BF16_LOSS_RELATIVE_TOLERANCE = 3e-2;
  static final double BF16_GRADIENT_RELATIVE_TOLERANCE = 0.1;

  private static final ObjectMapper JSON = new ObjectMapper();

  @TestFactory
  Stream<DynamicContainer> everyModelFixture() {
    return Fixtures.find("models", "fixture.json").stream()
        .map(
            dir ->
                DynamicContainer.dynamicContainer(
                    dir.getFileName().toString(),
                    Stream.of(
                        DynamicTest.dynamicTest("base logprobs", () -> baseLogprobs(dir)),
                        DynamicTest.dynamicTest("adapted logprobs", () -> adaptedLogprobs(dir)),
                        DynamicTest.dynamicTest(
                            "loss and LoRA gradients", () -> lossAndGradients(dir)),
                        DynamicTest.dynamicTest(
                            "greedy through the KV cache", () -> greedy(dir)))));
  }

  /**
   * ND4J here; {@code -Drl.backend=cuda} runs the same checks on the GPU backend (the device
   * machine runs this class that way, see scripts/device-check.sh).
   */
  static Ops backend() {
    return Backends.create(ModelConfig.Backend.AUTO, message -> {});
  }

  record Case(Ops ops, Decoder model, JsonNode fixture, List<int[]> sequences) {
    /** Whether the backend keeps this model's weights in reduced precision (bf16). */
    boolean reduced() {
      return ops.reducedPrecision(model.head().value());
    }
  }

  static Case open(Path dir, boolean adapter) throws IOException {
    Ops ops = backend();
    Decoder model = Decoder.load(dir.resolve("model"), ops);
    if (adapter) {
      LoraAdapter.load(dir.resolve("adapter"), model);
    }
    JsonNode fixture = JSON.readTree(dir.resolve("fixture.json").toFile());
    List<int[]> sequences = new ArrayList<>();
    for (JsonNode s : fixture.get("sequences")) {
      sequences.add(ints(s));
    }
    return new Case(ops, model, fixture, sequences);
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static int totalTokens(List<int[]> sequences) {
    return sequences.stream().mapToInt(s -> s.length).sum();
  }

  private static void compareLogprobs(Case c, String key, boolean adapterOn) {
    c.model().setAdapterEnabled(adapterOn);
    Activations acts = c.model().newActivations(totalTokens(c.sequences()), false);
    float[][] logprobs = c.model().sequenceLogprobs(acts, c.sequences(), 1f);
    JsonNode expected = c.fixture().get(key);
    double worst = 0;
    for (int s = 0; s < logprobs.length; s++) {
      assertEquals(expected.get(s).size(), logprobs[s].length, key + " length of sequence " + s);
      for (int t = 0; t < logprobs[s].length; t++) {
        worst = Math.max(worst, Math.abs(logprobs[s][t] - expected.get(s).get(t).asDouble()));
      }
    }
    double tolerance = c.reduced() ? BF16_LOGPROB_TOLERANCE : LOGPROB_TOLERANCE;
    System.out.printf("%s: worst absolute logprob error %.3e%n", key, worst);
    assertTrue(worst <= tolerance, key + ": worst absolute error " + worst + " > " + tolerance);
  }

  static void baseLogprobs(Path dir) throws IOException {
    compareLogprobs(open(dir, false), "base_logprobs", true);
    // The same model with an adapter switched off is the base model.
    compareLogprobs(open(dir, true), "base_logprobs", false);
  }

  static void adaptedLogprobs(Path dir) throws IOException {
    compareLogprobs(open(dir, true), "adapted_logprobs", true);
  }

  static void lossAndGradients(Path dir) throws IOException {
    Case c = open(dir, true);
    JsonNode f = c.fixture();
    Activations acts = c.model().newActivations(totalTokens(c.sequences()), true);
    float[][] logprobs = c.model().sequenceLogprobs(acts, c.sequences(), 1f);
    // loss = -(1/N) Σ_i Σ_{t in completion_i} exp(lp − lp_sampler) · A_i
    int completionTokens = 0;
    for (int s = 0; s < c.sequences().size(); s++) {
      completionTokens += c.sequences().get(s).length - f.get("prompt_lengths").get(s).asInt();
    }
    double loss = 0;
    float[][] dlogprobs = new float[logprobs.length][];
    for (int s = 0; s < logprobs.length; s++) {
      dlogprobs[s] = new float[logprobs[s].length];
      int prompt = f.get("prompt_lengths").get(s).asInt();
      double advantage = f.get("advantages").get(s).asDouble();
      JsonNode sampler = f.get("sampler_logprobs_completion").get(s);
      for (int j = 0; j < sampler.size(); j++) {
        int t = prompt - 1 + j; // row predicting completion token j
        double ratio = Math.exp(logprobs[s][t] - sampler.get(j).asDouble());
        loss -= ratio * advantage / completionTokens;
        dlogprobs[s][t] = (float) (-ratio * advantage / completionTokens);
      }
    }
    double expectedLoss = f.get("loss").asDouble();
    double lossTolerance = c.reduced() ? BF16_LOSS_RELATIVE_TOLERANCE : LOSS_RELATIVE_TOLERANCE;
    double gradientTolerance =
        c.reduced() ? BF16_GRADIENT_RELATIVE_TOLERANCE : GRADIENT_RELATIVE_TOLERANCE;
    System.out.printf(
        "%s: loss relative error %.3e%n",
        dir.getFileName(), Math.abs(loss - expectedLoss) / Math.abs(expectedLoss));
    assertEquals(
        expectedLoss,
        loss,
        Math.abs(expectedLoss) * lossTolerance,
        "loss (relative tolerance " + lossTolerance + ")");
    double worstGradient = 0;

    c.model().backwardFromLogprobs(acts, dlogprobs, 1f);
    try (SafetensorsStore expected =
        SafetensorsStore.openFile(dir.resolve(f.get("grads_file").asText()))) {
      int checked = 0;
      for (Linear linear : c.model().linears()) {
        for (Parameter p : List.of(linear.loraA(), linear.loraB())) {
          float[] reference = expected.readFloats(p.name());
          float[] actual = c.ops().download(p.grad(c.ops()));
          assertEquals(reference.length, actual.length, p.name());
          double diff = 0;
          double norm = 0;
          for (int i = 0; i < actual.length; i++) {
            diff += Math.pow(actual[i] - reference[i], 2);
            norm += Math.pow(reference[i], 2);
          }
          double relative = Math.sqrt(diff / norm);
          worstGradient = Math.max(worstGradient, relative);
          assertTrue(
              relative <= gradientTolerance,
              p.name() + ": relative gradient error " + relative + " > " + gradientTolerance);
          checked++;
        }
      }
      assertEquals(expected.names().size(), checked, "every reference gradient was checked");
      System.out.printf(
          "%s: worst relative LoRA gradient error %.3e%n", dir.getFileName(), worstGradient);
    }
  }

  /**
   * The fixture generator decoded its two greedy prompts as one left-padded batch with pad id 0 and
   * attention mask {@code ids != 0}, so a genuine token 0 inside a prompt was masked out too
   * (llama-tiny's first prompt has one: its reference continuation equals ours for the prompt
   * without that token, and ours for the prompt as given differs from token 2 on). Masking a token
   * and compacting position ids is exactly dropping it, so the prompt is fed that way here; {@link
   * #cachedGreedyMatchesFullForward} checks the prompts as given.
   */
  static int[] asTheReferenceSawIt(int[] prompt) {
    return java.util.Arrays.stream(prompt).filter(id -> id != 0).toArray();
  }

  static void greedy(Path dir) throws IOException {
    for (boolean adapter : new boolean[] {false, true}) {
      Case c = open(dir, adapter);
      assumeFalse(
          c.reduced(),
          "greedy continuations are compared in float32 mode (-Drl.cuda.precision=fp32)");
      JsonNode prompts = c.fixture().get("greedy_prompts");
      JsonNode expected = c.fixture().get(adapter ? "greedy_adapted" : "greedy_base");
      for (int i = 0; i < prompts.size(); i++) {
        int[] want = ints(expected.get(i));
        int[] prompt = ints(prompts.get(i));
        assertArrayEquals(
            want,
            c.model().greedy(asTheReferenceSawIt(prompt), want.length),
            (adapter ? "adapted" : "base") + " greedy continuation of prompt " + i);
        cachedGreedyMatchesFullForward(c, prompt, want.length);
      }
    }
  }

  /** Decoding through the KV cache picks the argmax of a full forward of everything so far. */
  static void cachedGreedyMatchesFullForward(Case c, int[] prompt, int steps) {
    int[] cached = c.model().greedy(prompt, steps);
    Ops ops = c.ops();
    int[] sequence = java.util.Arrays.copyOf(prompt, prompt.length + steps);
    Activations acts = c.model().newActivations(sequence.length, false);
    rl.core.tensor.Tensor logits = ops.zeros(1, c.model().config().vocabSize());
    for (int i = 0; i < steps; i++) {
      int length = prompt.length + i;
      rl.core.tensor.Tensor hidden =
          c.model()
              .forward(
                  acts, SequenceBatch.of(List.of(java.util.Arrays.copyOf(sequence, length))), null);
      ops.logits(logits, ops.rows(hidden, length - 1, 1), c.model().head().value(), 1f);
      float[] row = ops.download(logits);
      int best = 0;
      for (int v = 1; v < row.length; v++) {
        if (row[v] > row[best]) {
          best = v;
        }
      }
      assertEquals(best, cached[i], "cached greedy step " + i + " vs full forward");
      sequence[length] = best;
    }
  }
}
