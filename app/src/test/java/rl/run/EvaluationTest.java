package rl.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.PromptEncoder;
import rl.core.tokenizer.ToyTokenizer;
import rl.rewards.Problem;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.text.ExactReward;
import rl.rewards.text.RegexReward;
import rl.sampler.GenerationEngine;

/** {@link Evaluation} on a tiny random model, with rewards whose verdicts are known in advance. */
class EvaluationTest {
  private static final int MAX_TOKENS = 6;

  /** A random model (sharp logits, so greedy choices are not near ties) and the toy tokenizer. */
  private static Decoder model(Path dir) throws Exception {
    ToyTokenizer.write(dir);
    HfModelConfig config = HfModelConfig.llama(32, 48, 1, 2, 1, ToyTokenizer.VOCAB_SIZE);
    return Decoder.random(config, new Nd4jOps(), 3, 0.3);
  }

  /** What the model's greedy completion of the problem's chat prompt decodes to, EOS cut off. */
  private static String greedyText(Decoder model, PromptEncoder encoder, Problem problem) {
    int[] prompt = encoder.encodeChat(Problems.messages(problem), true, Map.of());
    int[] tokens = model.greedy(prompt, MAX_TOKENS);
    int[] eos = encoder.eosIds();
    int length = tokens.length;
    for (int i = 0; i < tokens.length && length == tokens.length; i++) {
      for (int e : eos) {
        if (tokens[i] == e) {
          length = i;
        }
      }
    }
    return encoder.tokenizer().decode(Arrays.copyOf(tokens, length));
  }

  private static Evaluation.Settings settings(int samples) {
    return new Evaluation.Settings(samples, 1.0, 1.0, 0, MAX_TOKENS, List.of(), 1.0, 11);
  }

  @Test
  void greedyPassAtOneCountsTheProblemsWhoseAnswerIsTheGreedyCompletion(@TempDir Path dir)
      throws Exception {
    Decoder model = model(dir);
    try (PromptEncoder encoder = PromptEncoder.load(dir);
        RewardPipeline pipeline =
            RewardPipeline.builder().add(new ExactReward(null, true, false)).build()) {
      // Problems 0, 3, 6, 9 have the model's own greedy completion as their answer; the others
      // an answer no completion of at most 6 bytes can equal.
      List<Problem> problems = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        Problem draft = Problem.of("p" + i, "question " + i + "?", "");
        String answer =
            i % 3 == 0 ? greedyText(model, encoder, draft) : "far too long to be generated";
        problems.add(Problem.of("p" + i, "question " + i + "?", answer));
      }
      int[] eos = Evaluation.eosIds(encoder, model);
      GenerationEngine engine = Evaluation.engine(model, encoder, eos, 64, settings(0), 4);

      Evaluation.EvalResult result =
          Evaluation.run(engine, encoder, eos, pipeline, problems, settings(0));

      assertEquals(10, result.problems());
      assertEquals(0.4, result.passAt1(), 1e-12);
      assertEquals(0.4, result.greedyMeanReward(), 1e-12);
      assertEquals(0, result.samples());
      assertTrue(Double.isNaN(result.sampleMeanReward()));
      for (int i = 0; i < 10; i++) {
        Evaluation.ProblemOutcome outcome = result.outcomes().get(i);
        assertEquals("p" + i, outcome.problemId());
        assertEquals(i % 3 == 0 ? 1.0 : 0.0, outcome.greedyReward(), outcome.toString());
        assertEquals(greedyText(model, encoder, problems.get(i)), outcome.greedyText());
      }
      assertFalse(result.toMap("eval/").containsKey("eval/reward_mean"));
      assertTrue(result.summary().startsWith("pass@1 0.400 (4/10 greedy)"), result.summary());
    }
  }

  @Test
  void sampledCompletionsGiveMeanRewardAndPassAtK(@TempDir Path dir) throws Exception {
    Decoder model = model(dir);
    // Every completion matches (?s).*: reward 1; no completion contains "\u0001xyz": reward 0.
    try (PromptEncoder encoder = PromptEncoder.load(dir);
        RewardPipeline always =
            RewardPipeline.builder()
                .add(new RegexReward(Pattern.compile("(?s).*"), true, 1, 0))
                .build()) {
      List<Problem> problems = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        problems.add(Problem.of("p" + i, "q" + i, "unused"));
      }
      int[] eos = Evaluation.eosIds(encoder, model);
      GenerationEngine engine = Evaluation.engine(model, encoder, eos, 64, settings(4), 8);

      Evaluation.EvalResult result =
          Evaluation.run(engine, encoder, eos, always, problems, settings(4));

      assertEquals(1.0, result.passAt1());
      assertEquals(4, result.samples());
      assertEquals(1.0, result.sampleMeanReward());
      assertEquals(1.0, result.samplePassAt1());
      assertEquals(1.0, result.passAtK());
      for (Evaluation.ProblemOutcome outcome : result.outcomes()) {
        assertEquals(4, outcome.sampleTexts().size());
      }
      assertEquals(1.0, result.toMap("eval/").get("eval/pass@4"));

      // The same completions again with a stricter threshold: nothing passes.
      Evaluation.Settings strict =
          new Evaluation.Settings(4, 1.0, 1.0, 0, MAX_TOKENS, List.of(), 1.5, 11);
      Evaluation.EvalResult none = Evaluation.run(engine, encoder, eos, always, problems, strict);
      assertEquals(0.0, none.passAt1());
      assertEquals(1.0, none.sampleMeanReward());
      assertEquals(0.0, none.passAtK());
    }
  }

  @Test
  void aggregatesOutcomesWithTheUnbiasedPassAtKEstimator() {
    List<Evaluation.ProblemOutcome> outcomes =
        List.of(
            new Evaluation.ProblemOutcome(
                "a", "1", "1", 1.0, List.of("1", "2", "3", "4"), new double[] {1, 0, 0, 0}),
            new Evaluation.ProblemOutcome(
                "b", "2", "3", 0.0, List.of("2", "2", "3", "4"), new double[] {1, 1, 0, 0}));
    Evaluation.EvalResult result = Evaluation.EvalResult.of(outcomes, 1.0);
    assertEquals(0.5, result.passAt1());
    assertEquals(3.0 / 8, result.sampleMeanReward());
    assertEquals(3.0 / 8, result.samplePassAt1());
    // pass@4 with n = k = 4 is "any passed": 1 for both.
    assertEquals(1.0, result.passAtK());
  }

  @Test
  void passAtKMatchesTheClosedForm() {
    assertEquals(0.0, Evaluation.passAtK(10, 0, 5));
    assertEquals(1.0, Evaluation.passAtK(10, 10, 1));
    assertEquals(0.25, Evaluation.passAtK(4, 1, 1), 1e-12);
    assertEquals(0.5, Evaluation.passAtK(4, 1, 2), 1e-12);
    // 1 - C(3,2)/C(5,2) = 1 - 3/10
    assertEquals(0.7, Evaluation.passAtK(5, 2, 2), 1e-12);
    assertEquals(1.0, Evaluation.passAtK(5, 4, 2));
    assertThrows(IllegalArgumentException.class, () -> Evaluation.passAtK(4, 1, 5));
  }
}
