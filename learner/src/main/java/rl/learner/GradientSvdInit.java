package rl.learner;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import rl.core.model.Linear;
import rl.core.model.Parameter;
import rl.core.tensor.Ops;

/**
 * LoRA init {@code gradient-svd} (papers/lora-training-dynamics-blog.txt): on the first batch, set
 * each adapted projection's A to the top-r right singular vectors of that projection's weight
 * gradient G {@code [out, in]}, and B to 0, so the adapter starts in the direction full fine-tuning
 * would move first.
 *
 * <p>The vectors come from subspace (power) iteration on GᵀG, which needs only products with G and
 * Gᵀ. G itself is formed from one extra backward pass into the weights, one projection's gradient
 * buffer per adapted projection, freed right after.
 */
final class GradientSvdInit {
  private static final int ITERATIONS = 30;

  private GradientSvdInit() {}

  static void apply(Learner learner, List<TrainingSequence> sequences) {
    Ops ops = learner.ops();
    List<Linear> targets = new ArrayList<>();
    for (Linear linear : learner.model().linears()) {
      if (linear.loraA() != null) {
        targets.add(linear);
      }
    }
    // B = 0 already, so the LoRA path adds nothing; the weight gradients are full FT's.
    for (Linear linear : targets) {
      linear.weight().setTrainable(true);
      linear.weight().zeroGrad(ops);
    }
    boolean sft = sequences.getFirst().samplerLogprobs() == null;
    long completionTokens = sequences.stream().mapToLong(TrainingSequence::completionLength).sum();
    PolicyLoss scratch = new PolicyLoss(learnerObjective(learner));
    for (List<TrainingSequence> batch : learner.microBatches(sequences)) {
      learner.accumulate(batch, sequences.size(), sequences.size(), completionTokens, sft, scratch);
    }
    Random random = new Random(17);
    for (Linear linear : targets) {
      Parameter a = linear.loraA();
      int rank = a.value().rows();
      int in = linear.in();
      int out = linear.out();
      float[] g = ops.download(linear.weight().grad(ops)); // [out, in]
      double[][] basis = topRightSingularVectors(g, out, in, rank, random);
      float[] values = new float[rank * in];
      for (int r = 0; r < rank; r++) {
        for (int c = 0; c < in; c++) {
          values[r * in + c] = (float) basis[r][c];
        }
      }
      a.setValue(ops.upload(values, rank, in));
      ops.fill(linear.loraB().value(), 0f);
      linear.weight().setTrainable(false);
      linear.weight().releaseGrad();
    }
    for (Parameter p : learner.trainable()) {
      p.zeroGrad(ops);
    }
  }

  private static rl.core.config.ObjectiveConfig learnerObjective(Learner learner) {
    return learner.objectiveConfig();
  }

  /**
   * Orthonormal rows spanning the top-{@code rank} right singular subspace of G {@code [out, in]}
   * (row-major), by subspace iteration: V ← orth(Gᵀ (G V)).
   */
  static double[][] topRightSingularVectors(float[] g, int out, int in, int rank, Random random) {
    double[][] v = new double[rank][in];
    for (double[] row : v) {
      for (int c = 0; c < in; c++) {
        row[c] = random.nextGaussian();
      }
    }
    orthonormalize(v);
    double[] u = new double[out];
    for (int iteration = 0; iteration < ITERATIONS; iteration++) {
      for (double[] row : v) {
        // u = G v ; row = Gᵀ u
        for (int o = 0; o < out; o++) {
          double sum = 0;
          for (int c = 0; c < in; c++) {
            sum += g[o * in + c] * row[c];
          }
          u[o] = sum;
        }
        java.util.Arrays.fill(row, 0);
        for (int o = 0; o < out; o++) {
          double uo = u[o];
          for (int c = 0; c < in; c++) {
            row[c] += g[o * in + c] * uo;
          }
        }
      }
      orthonormalize(v);
    }
    return v;
  }

  /** Gram-Schmidt on the rows; a row that vanishes is replaced by a unit basis vector. */
  private static void orthonormalize(double[][] rows) {
    for (int i = 0; i < rows.length; i++) {
      for (int j = 0; j < i; j++) {
        double dot = 0;
        for (int c = 0; c < rows[i].length; c++) {
          dot += rows[i][c] * rows[j][c];
        }
        for (int c = 0; c < rows[i].length; c++) {
          rows[i][c] -= dot * rows[j][c];
        }
      }
      double norm = 0;
      for (double x : rows[i]) {
        norm += x * x;
      }
      norm = Math.sqrt(norm);
      if (norm < 1e-30) {
        java.util.Arrays.fill(rows[i], 0);
        rows[i][i % rows[i].length] = 1;
      } else {
        for (int c = 0; c < rows[i].length; c++) {
          rows[i][c] /= norm;
        }
      }
    }
  }
}
