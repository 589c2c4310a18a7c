package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Analytic gradients against central finite differences on small random models of each variant, for
 * a loss {@code L = Σ w[s][t] · logprob[s][t]} with fixed random weights w. On ND4J here; with
 * {@code -Drl.backend=cuda -Drl.cuda.precision=fp32} on the GPU backend (scripts/device-check.sh):
 * differences of a loss whose products round to bf16 would measure the rounding, so the checks skip
 * a backend that stores weights in reduced precision.
 */
class ModelGradientTest {
  private static final float TEMPERATURE = 0.7f;
  // Large enough that float32 rounding of the loss (~1e-6) stays far below the tolerance;
  // Richardson extrapolation removes the curvature error such a step brings.
  private static final double EPSILON = 4e-2;

  static Stream<Arguments> variants() {
    return Stream.of(
        Arguments.of("llama GQA", HfModelConfig.llama(16, 24, 2, 4, 2, 11)),
        Arguments.of(
            "qwen2 biases, tied",
            HfModelConfig.of("qwen2", 16, 24, 2, 4, 2, 11).withTiedEmbeddings(true)),
        Arguments.of(
            "qwen3 q/k norm, head_dim 8",
            HfModelConfig.of("qwen3", 16, 24, 2, 4, 1, 11).withHeadDim(8)));
  }

  private static final List<int[]> SEQUENCES =
      List.of(new int[] {1, 5, 3, 9, 2}, new int[] {4, 4, 7}, new int[] {10, 0, 6, 8, 3, 2, 1});

  private static float[][] lossWeights() {
    Random random = new Random(7);
    float[][] w = new float[SEQUENCES.size()][];
    for (int s = 0; s < w.length; s++) {
      w[s] = new float[SEQUENCES.get(s).length - 1];
      for (int t = 0; t < w[s].length; t++) {
        w[s][t] = (float) random.nextGaussian();
      }
    }
    return w;
  }

  private static double loss(Decoder model, float[][] weights) {
    Activations acts = model.newActivations(15, false);
    float[][] lp = model.sequenceLogprobs(acts, SEQUENCES, TEMPERATURE);
    double loss = 0;
    for (int s = 0; s < lp.length; s++) {
      for (int t = 0; t < lp[s].length; t++) {
        loss += (double) weights[s][t] * lp[s][t];
      }
    }
    return loss;
  }

  private static void analytic(Decoder model, float[][] weights) {
    Activations acts = model.newActivations(15, true);
    model.sequenceLogprobs(acts, SEQUENCES, TEMPERATURE);
    model.backwardFromLogprobs(acts, weights, TEMPERATURE);
  }

  /** Checks a few random elements of each parameter's gradient by central differences. */
  private static void check(String label, Decoder model, List<Parameter> parameters) {
    Ops ops = model.ops();
    float[][] weights = lossWeights();
    analytic(model, weights);
    Random random = new Random(11);
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (Parameter p : parameters) {
      float[] grad = ops.download(p.grad(ops));
      float[] value = ops.download(p.value());
      for (int trial = 0; trial < 3; trial++) {
        int i = random.nextInt(value.length);
        float original = value[i];
        value[i] = (float) (original + EPSILON);
        p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
        double plus = loss(model, weights);
        value[i] = (float) (original - EPSILON);
        p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
        double minus = loss(model, weights);
        value[i] = original;
        p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
        double coarse = (plus - minus) / (2 * EPSILON);
        double fine = centralDifference(model, weights, p, value, i, EPSILON / 2);
        // Richardson extrapolation cancels the ε² term of the central difference.
        double numeric = (4 * fine - coarse) / 3;
        double error = Math.abs(numeric - grad[i]);
        if (error > 2e-2 * Math.max(Math.abs(numeric), Math.abs(grad[i])) + 3e-4) {
          failures.add(p.name() + "[" + i + "]: analytic " + grad[i] + ", numeric " + numeric);
        }
        checked++;
      }
    }
    assertTrue(
        failures.isEmpty(),
        label + ": " + failures.size() + " of " + checked + " elements off: " + failures);
  }

  private static double centralDifference(
      Decoder model, float[][] weights, Parameter p, float[] value, int i, double epsilon) {
    Ops ops = model.ops();
    float original = value[i];
    value[i] = (float) (original + epsilon);
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    double plus = loss(model, weights);
    value[i] = (float) (original - epsilon);
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    double minus = loss(model, weights);
    value[i] = original;
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    return (plus - minus) / (2 * epsilon);
  }

  /** The backend under test (see {@link ModelFixtureTest#backend}), if it keeps float32 weights. */
  private static Ops float32Backend() {
    Ops ops = ModelFixtureTest.backend();
    Tensor probe = ops.uploadWeight(new float[] {1f}, 1, 1);
    assumeFalse(
        ops.reducedPrecision(probe),
        () ->
            "finite differences need float32 weights; "
                + ops
                + " stores them in reduced precision (run with -Drl.cuda.precision=fp32)");
    return ops;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void loraGradientsMatchFiniteDifferences(String label, HfModelConfig config) {
    Ops ops = float32Backend();
    Decoder model = Decoder.random(config, ops, 3, 0.3);
    LoraAdapter adapter =
        LoraAdapter.create(
            model,
            new LoraConfig(2, 4, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            5);
    // Standard init leaves B = 0, where A's gradient vanishes: make both non-zero.
    Random random = new Random(13);
    for (Parameter p : adapter.parameters()) {
      float[] v = new float[(int) p.value().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * 0.2);
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
    }
    check(label, model, adapter.parameters());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void fullWeightGradientsMatchFiniteDifferences(String label, HfModelConfig config) {
    Ops ops = float32Backend();
    Decoder model = Decoder.random(config, ops, 3, 0.3);
    model.setBaseTrainable(true);
    check(label, model, model.parameters());
  }
}
