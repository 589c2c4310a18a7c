package rl.run;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import rl.core.messages.Completion;
import rl.core.messages.RolloutGroup;
import rl.core.messages.ScoredGroup;
import rl.core.tokenizer.Tokenizer;
import rl.learner.LearnerVerticle;
import rl.rewards.FinishReason;
import rl.rewards.Problem;
import rl.rewards.RewardInput;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.pipeline.ScoredCompletion;
import rl.sampler.SamplerVerticle;

/**
 * Scores rollout groups: decodes each completion, runs the reward pipeline (off the event loop, on
 * the pipeline's own threads), and forwards training groups to the learner as {@link ScoredGroup}s
 * and evaluation groups to the coordinator. Request ids say which is which: {@link RequestIds}.
 */
final class RewardVerticle extends VerticleBase {
  static final String EVAL_SCORED = "rl.eval.scored";
  static final String SAMPLES = "rl.samples";
  static final String REWARD_SCORES = "rl.reward.scores";

  private final RewardPipeline pipeline;
  private final Map<String, Problem> problems;
  private final Tokenizer tokenizer;
  private final int[] eosIds;

  RewardVerticle(
      RewardPipeline pipeline, Map<String, Problem> problems, Tokenizer tokenizer, int[] eosIds) {
    this.pipeline = pipeline;
    this.problems = problems;
    this.tokenizer = tokenizer;
    this.eosIds = eosIds.clone();
  }

  @Override
  public Future<?> start() {
    return vertx
        .eventBus()
        .<RolloutGroup>consumer(SamplerVerticle.ROLLOUTS, message -> score(message.body()))
        .completion();
  }

  private void score(RolloutGroup group) {
    RequestIds.Parsed id = RequestIds.parse(group.requestId());
    Problem problem = problems.get(id.problemId());
    if (problem == null) {
      throw new IllegalStateException("rollout for unknown problem " + id.problemId());
    }
    String promptText = tokenizer.decode(group.promptTokens());
    List<String> texts = new ArrayList<>();
    List<CompletableFuture<ScoredCompletion>> scores = new ArrayList<>();
    for (Completion c : group.completions()) {
      String text = tokenizer.decode(withoutFinalEos(c.tokens()));
      texts.add(text);
      scores.add(
          pipeline.score(new RewardInput(problem, promptText, text, c.tokens(), finishReason(c))));
    }
    CompletableFuture.allOf(scores.toArray(CompletableFuture[]::new))
        .whenComplete(
            (ignored, failure) -> {
              double[] rewards = new double[scores.size()];
              JsonArray components = new JsonArray();
              for (int i = 0; i < rewards.length; i++) {
                // The pipeline turns every plug-in failure into a scored error; a failure here
                // is the pipeline's own, and the completion then gets no credit.
                ScoredCompletion s =
                    scores.get(i).isCompletedExceptionally() ? null : scores.get(i).join();
                rewards[i] = s == null ? 0 : s.score();
                components.add(
                    new JsonObject()
                        .put("components", s == null ? Map.of() : s.components())
                        .put("errors", s == null ? 1 : s.errors().size()));
              }
              JsonObject summary =
                  new JsonObject()
                      .put("request_id", group.requestId())
                      .put("kind", id.kind())
                      .put("step", id.step())
                      .put("problem_id", problem.id())
                      .put("prompt", promptText)
                      .put("answer", problem.answer())
                      .put("completions", new JsonArray(texts))
                      .put("rewards", new JsonArray(Arrays.stream(rewards).boxed().toList()))
                      .put("scores", components);
              if (id.kind().equals(RequestIds.TRAIN)) {
                // The row first: the coordinator files a step's rows when the learner reports the
                // step done, which this group may complete; published after the group, a row
                // could arrive after that report (this is no event-loop thread) and be lost.
                vertx.eventBus().publish(SAMPLES, summary);
                vertx.eventBus().publish(LearnerVerticle.SCORED, new ScoredGroup(group, rewards));
              } else {
                vertx.eventBus().publish(EVAL_SCORED, summary);
              }
            });
  }

  private int[] withoutFinalEos(int[] tokens) {
    if (tokens.length > 0) {
      for (int eos : eosIds) {
        if (tokens[tokens.length - 1] == eos) {
          return Arrays.copyOf(tokens, tokens.length - 1);
        }
      }
    }
    return tokens;
  }

  private static FinishReason finishReason(Completion c) {
    return switch (c.finishReason()) {
      case STOP -> FinishReason.STOP;
      case LENGTH -> FinishReason.LENGTH;
      case ABORTED -> FinishReason.UNKNOWN;
    };
  }
}
