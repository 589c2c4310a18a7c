package rl.rewards.pipeline;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pipeline's verdict on one completion: the weighted sum of its functions' scores, and each
 * function's outcome for logging.
 *
 * @param score {@code Σ weight · score} over the pipeline's functions, fallbacks included
 * @param outcomes one per function, in the pipeline's order
 */
public record ScoredCompletion(double score, List<RewardOutcome> outcomes) {
  public ScoredCompletion {
    outcomes = List.copyOf(outcomes);
  }

  /**
   * Every logged number: {@code label} for each function's (unweighted) score and {@code
   * label/component} for its components.
   */
  public Map<String, Double> components() {
    Map<String, Double> components = new LinkedHashMap<>();
    for (RewardOutcome outcome : outcomes) {
      components.put(outcome.label(), outcome.score());
      if (outcome.result() != null) {
        outcome
            .result()
            .components()
            .forEach((name, value) -> components.put(outcome.label() + "/" + name, value));
      }
    }
    return Collections.unmodifiableMap(components);
  }

  /** The errors, labelled, in the pipeline's order; empty when every function scored. */
  public Map<String, RewardError> errors() {
    Map<String, RewardError> errors = new LinkedHashMap<>();
    for (RewardOutcome outcome : outcomes) {
      if (outcome.isError()) {
        errors.put(outcome.label(), outcome.error());
      }
    }
    return Collections.unmodifiableMap(errors);
  }

  /** The outcome of the function labelled {@code label}. */
  public RewardOutcome outcome(String label) {
    for (RewardOutcome outcome : outcomes) {
      if (outcome.label().equals(label)) {
        return outcome;
      }
    }
    List<String> labels = new ArrayList<>();
    outcomes.forEach(o -> labels.add(o.label()));
    throw new IllegalArgumentException("no reward labelled '" + label + "'; labels: " + labels);
  }
}
