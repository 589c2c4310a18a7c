package rl.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import rl.core.config.SamplingConfig;
import rl.core.messages.Completion;
import rl.core.messages.RolloutGroup;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.model.Decoder;
import rl.core.tokenizer.PromptEncoder;
import rl.core.tokenizer.Tokenizer;
import rl.rewards.FinishReason;
import rl.rewards.Problem;
import rl.rewards.RewardInput;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.pipeline.ScoredCompletion;
import rl.sampler.GenerationEngine;

/**
 * Evaluation on held-out problems: one greedy completion per problem (pass@1: the share whose
 * reward reaches the pass threshold) and, optionally, k completions at a sampling temperature (mean
 * reward, sampled pass@1 and pass@k with the unbiased estimator of Chen et al. 2021).
 *
 * <p>Prompts go through the model's chat template ({@link PromptEncoder#encodeChat}), completions
 * are decoded without their final end-of-sequence token and scored by a {@link RewardPipeline}, as
 * in training. {@link #run} drives a {@link GenerationEngine} synchronously on the calling thread;
 * a caller that samples elsewhere (over the event bus) builds the same requests with {@link
 * #requests}, scores with {@link #score}, and aggregates its own per-problem rewards with {@link
 * EvalResult#of}.
 */
public final class Evaluation {
  /** Request ids: {@code greedy:INDEX} and {@code sampled:INDEX}, INDEX the problem's position. */
  public static final String GREEDY = "greedy";

  public static final String SAMPLED = "sampled";

  private Evaluation() {}

  /**
   * How to evaluate.
   *
   * @param samples completions per problem at {@code temperature}; 0 for greedy only
   * @param temperature softmax temperature of the sampled completions (greedy ignores it)
   * @param topP nucleus mass of the sampled completions
   * @param topK top-k of the sampled completions; 0 keeps all
   * @param maxTokens most tokens per completion
   * @param stop strings that end a completion
   * @param passThreshold a completion passes when its reward is at least this
   * @param seed problem i's sampled completions use seed {@code seed + i}
   */
  public record Settings(
      int samples,
      double temperature,
      double topP,
      int topK,
      int maxTokens,
      List<String> stop,
      double passThreshold,
      long seed) {
    public Settings {
      if (samples < 0) {
        throw new IllegalArgumentException("samples must be >= 0, found " + samples);
      }
      if (!(temperature > 0) || Double.isInfinite(temperature)) {
        throw new IllegalArgumentException(
            "the sampling temperature must be a positive number, found " + temperature);
      }
      if (maxTokens < 1) {
        throw new IllegalArgumentException("max_tokens must be at least 1, found " + maxTokens);
      }
      if (!Double.isFinite(passThreshold)) {
        throw new IllegalArgumentException(
            "pass_threshold must be a finite number, found " + passThreshold);
      }
      stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** A run's evaluation: {@code eval.samples} at the run's sampling options. */
    public static Settings of(EvalConfig eval, SamplingConfig sampling, long seed) {
      return new Settings(
          eval.samples(),
          sampling.temperature(),
          sampling.topP(),
          sampling.topK(),
          sampling.maxTokens(),
          sampling.stop(),
          eval.passThreshold(),
          seed);
    }

    SamplingParams greedyParams() {
      return new SamplingParams(0, 1, 0, 0, maxTokens, stop, seed);
    }

    SamplingParams sampledParams(int problem) {
      return new SamplingParams(temperature, topP, topK, 0, maxTokens, stop, seed + problem);
    }
  }

  /**
   * One problem's completions and rewards.
   *
   * @param problemId the problem's id
   * @param answer its reference answer
   * @param greedyText the greedy completion, decoded without its final EOS token
   * @param greedyReward its combined reward
   * @param sampleTexts the sampled completions (empty with {@code samples: 0})
   * @param sampleRewards their combined rewards
   */
  public record ProblemOutcome(
      String problemId,
      String answer,
      String greedyText,
      double greedyReward,
      List<String> sampleTexts,
      double[] sampleRewards) {
    public ProblemOutcome {
      Objects.requireNonNull(problemId, "problemId");
      sampleTexts = List.copyOf(sampleTexts);
      sampleRewards = sampleRewards.clone();
      if (sampleTexts.size() != sampleRewards.length) {
        throw new IllegalArgumentException(
            sampleTexts.size() + " sample texts but " + sampleRewards.length + " rewards");
      }
    }

    /** How many sampled completions pass. */
    public int samplePasses(double threshold) {
      int passes = 0;
      for (double r : sampleRewards) {
        if (r >= threshold) {
          passes++;
        }
      }
      return passes;
    }

    /** The outcome as a JSON-ready map, for per-problem JSONL. */
    public Map<String, Object> toMap(double threshold) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("id", problemId);
      map.put("answer", answer);
      map.put("greedy", greedyText);
      map.put("greedy_reward", greedyReward);
      map.put("greedy_pass", greedyReward >= threshold);
      if (sampleRewards.length > 0) {
        map.put("samples", sampleTexts);
        map.put("sample_rewards", Arrays.stream(sampleRewards).boxed().toList());
        map.put("sample_passes", samplePasses(threshold));
      }
      return map;
    }
  }

  /**
   * An evaluation's summary.
   *
   * @param problems how many problems were evaluated
   * @param passAt1 share of problems whose greedy completion passes
   * @param greedyMeanReward mean reward of the greedy completions
   * @param samples k, sampled completions per problem (0: none)
   * @param sampleMeanReward mean reward of the sampled completions (NaN without samples)
   * @param samplePassAt1 share of sampled completions that pass (NaN without samples)
   * @param passAtK mean over problems of the unbiased pass@k estimate, k = {@code samples} (NaN
   *     without samples)
   * @param passThreshold the threshold used
   * @param outcomes per problem, in the order evaluated
   */
  public record EvalResult(
      int problems,
      double passAt1,
      double greedyMeanReward,
      int samples,
      double sampleMeanReward,
      double samplePassAt1,
      double passAtK,
      double passThreshold,
      List<ProblemOutcome> outcomes) {
    public EvalResult {
      outcomes = List.copyOf(outcomes);
    }

    /** Aggregates per-problem outcomes; every problem must have the same number of samples. */
    public static EvalResult of(List<ProblemOutcome> outcomes, double passThreshold) {
      int n = outcomes.size();
      int samples = n == 0 ? 0 : outcomes.getFirst().sampleRewards().length;
      double greedyPasses = 0;
      double greedyReward = 0;
      double sampleReward = 0;
      double samplePasses = 0;
      double passAtK = 0;
      for (ProblemOutcome o : outcomes) {
        if (o.sampleRewards().length != samples) {
          throw new IllegalArgumentException(
              "problem "
                  + o.problemId()
                  + " has "
                  + o.sampleRewards().length
                  + " samples, the first problem "
                  + samples);
        }
        greedyPasses += o.greedyReward() >= passThreshold ? 1 : 0;
        greedyReward += o.greedyReward();
        for (double r : o.sampleRewards()) {
          sampleReward += r;
        }
        int c = o.samplePasses(passThreshold);
        samplePasses += c;
        if (samples > 0) {
          passAtK += Evaluation.passAtK(samples, c, samples);
        }
      }
      double nan = Double.NaN;
      return new EvalResult(
          n,
          n == 0 ? nan : greedyPasses / n,
          n == 0 ? nan : greedyReward / n,
          samples,
          samples == 0 || n == 0 ? nan : sampleReward / ((double) n * samples),
          samples == 0 || n == 0 ? nan : samplePasses / ((double) n * samples),
          samples == 0 || n == 0 ? nan : passAtK / n,
          passThreshold,
          outcomes);
    }

    /**
     * The numbers as metric keys: {@code PREFIX pass@1}, {@code greedy_reward}, and with samples
     * {@code reward_mean}, {@code sampled_pass@1}, {@code pass@K}.
     */
    public Map<String, Object> toMap(String prefix) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put(prefix + "pass@1", passAt1);
      map.put(prefix + "greedy_reward", greedyMeanReward);
      map.put(prefix + "problems", problems);
      if (samples > 0) {
        map.put(prefix + "reward_mean", sampleMeanReward);
        map.put(prefix + "sampled_pass@1", samplePassAt1);
        if (samples > 1) {
          map.put(prefix + "pass@" + samples, passAtK);
        }
      }
      return map;
    }

    /** One line: {@code pass@1 0.315 (63/200 greedy), mean reward 0.270 (k=8, ...), pass@8 ...}. */
    public String summary() {
      StringBuilder line =
          new StringBuilder(
              String.format(
                  "pass@1 %.3f (%d/%d greedy), greedy mean reward %.3f",
                  passAt1, Math.round(passAt1 * problems), problems, greedyMeanReward));
      if (samples > 0) {
        line.append(
            String.format(
                ", sampled (k=%d): mean reward %.3f, pass@1 %.3f",
                samples, sampleMeanReward, samplePassAt1));
        if (samples > 1) {
          line.append(String.format(", pass@%d %.3f", samples, passAtK));
        }
      }
      return line.toString();
    }
  }

  /**
   * The unbiased pass@k estimate from n samples of which c pass: {@code 1 - C(n-c, k) / C(n, k)},
   * computed as a product so large n does not overflow.
   */
  public static double passAtK(int n, int c, int k) {
    if (k < 1 || k > n || c < 0 || c > n) {
      throw new IllegalArgumentException(
          "pass@k needs 1 <= k <= n and 0 <= c <= n, found n=" + n + ", c=" + c + ", k=" + k);
    }
    if (n - c < k) {
      return 1.0;
    }
    double allFail = 1.0;
    for (int i = n - c + 1; i <= n; i++) {
      allFail *= 1.0 - (double) k / i;
    }
    return 1.0 - allFail;
  }

  /** Each problem's prompt ids: its messages through the chat template, generation prompt on. */
  public static List<int[]> prompts(PromptEncoder encoder, List<Problem> problems) {
    List<int[]> prompts = new ArrayList<>(problems.size());
    for (Problem problem : problems) {
      prompts.add(encoder.encodeChat(Problems.messages(problem), true, Map.of()));
    }
    return prompts;
  }

  /**
   * The sample requests of an evaluation: {@code greedy:i} (one completion) for every problem i,
   * then {@code sampled:i} (k completions) when {@code samples > 0}.
   */
  public static List<SampleRequest> requests(List<int[]> prompts, Settings settings) {
    List<SampleRequest> requests = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      requests.add(new SampleRequest(GREEDY + ":" + i, prompts.get(i), 1, settings.greedyParams()));
    }
    if (settings.samples() > 0) {
      for (int i = 0; i < prompts.size(); i++) {
        requests.add(
            new SampleRequest(
                SAMPLED + ":" + i, prompts.get(i), settings.samples(), settings.sampledParams(i)));
      }
    }
    return requests;
  }

  /**
   * Scores generated groups: {@code greedy.get(i)} and (when there are samples) {@code
   * sampled.get(i)} are problem i's. The future completes on a reward-pipeline thread.
   */
  public static CompletableFuture<EvalResult> score(
      List<Problem> problems,
      List<String> promptTexts,
      List<RolloutGroup> greedy,
      List<RolloutGroup> sampled,
      Tokenizer tokenizer,
      int[] eosIds,
      RewardPipeline pipeline,
      double passThreshold) {
    if (greedy.size() != problems.size()
        || (!sampled.isEmpty() && sampled.size() != problems.size())) {
      throw new IllegalArgumentException(
          problems.size()
              + " problems but "
              + greedy.size()
              + " greedy and "
              + sampled.size()
              + " sampled groups");
    }
    List<CompletableFuture<ProblemOutcome>> outcomes = new ArrayList<>(problems.size());
    for (int i = 0; i < problems.size(); i++) {
      Problem problem = problems.get(i);
      String promptText = promptTexts.get(i);
      Completion g = greedy.get(i).completions().getFirst();
      String greedyText = text(tokenizer, g, eosIds);
      CompletableFuture<ScoredCompletion> greedyScore =
          pipeline.score(input(problem, promptText, greedyText, g));
      List<Completion> samples = sampled.isEmpty() ? List.of() : sampled.get(i).completions();
      List<String> sampleTexts = new ArrayList<>();
      List<CompletableFuture<ScoredCompletion>> sampleScores = new ArrayList<>();
      for (Completion c : samples) {
        String text = text(tokenizer, c, eosIds);
        sampleTexts.add(text);
        sampleScores.add(pipeline.score(input(problem, promptText, text, c)));
      }
      List<CompletableFuture<?>> all = new ArrayList<>(sampleScores);
      all.add(greedyScore);
      outcomes.add(
          CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
              .thenApply(
                  unused ->
                      new ProblemOutcome(
                          problem.id(),
                          problem.answer(),
                          greedyText,
                          greedyScore.join().score(),
                          sampleTexts,
                          sampleScores.stream().mapToDouble(f -> f.join().score()).toArray())));
    }
    return CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
        .thenApply(
            unused ->
                EvalResult.of(
                    outcomes.stream().map(CompletableFuture::join).toList(), passThreshold));
  }

  /**
   * Evaluates {@code problems} with {@code engine} on the calling thread (which must be the
   * engine's compute thread), waiting for the rewards.
   */
  public static EvalResult run(
      GenerationEngine engine,
      PromptEncoder encoder,
      int[] eosIds,
      RewardPipeline pipeline,
      List<Problem> problems,
      Settings settings) {
    List<int[]> prompts = prompts(encoder, problems);
    List<String> promptTexts = new ArrayList<>(problems.size());
    for (Problem problem : problems) {
      promptTexts.add(encoder.render(Problems.messages(problem), true, Map.of()));
    }
    List<SampleRequest> requests = requests(prompts, settings);
    RolloutGroup[] greedy = new RolloutGroup[problems.size()];
    RolloutGroup[] sampled = new RolloutGroup[settings.samples() > 0 ? problems.size() : 0];
    for (SampleRequest request : requests) {
      String[] id = request.requestId().split(":", 2);
      int index = Integer.parseInt(id[1]);
      RolloutGroup[] into = id[0].equals(GREEDY) ? greedy : sampled;
      engine.submit(request, group -> into[index] = group);
    }
    engine.runUntilIdle();
    return score(
            problems,
            promptTexts,
            Arrays.asList(greedy),
            Arrays.asList(sampled),
            encoder.tokenizer(),
            eosIds,
            pipeline,
            settings.passThreshold())
        .join();
  }

  /**
   * A generation engine sized for evaluating prompts of at most {@code longestPrompt} tokens: room
   * for {@code slots} sequences (at least the samples of one problem) of prompt plus {@code
   * maxTokens}. Attach any adapter to {@code model} before calling.
   */
  public static GenerationEngine engine(
      Decoder model,
      PromptEncoder encoder,
      int[] eosIds,
      int longestPrompt,
      Settings settings,
      int slots) {
    return new GenerationEngine(
        model,
        Math.max(slots, Math.max(1, settings.samples())),
        longestPrompt + settings.maxTokens() + 1,
        2048,
        eosIds,
        encoder.tokenizer());
  }

  /** End-of-sequence ids: the tokenizer's (generation config, else eos_token) and the model's. */
  public static int[] eosIds(PromptEncoder encoder, Decoder model) {
    Set<Integer> ids = new LinkedHashSet<>();
    for (int id : encoder.eosIds()) {
      ids.add(id);
    }
    ids.addAll(model.config().eosTokenIds());
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  private static RewardInput input(
      Problem problem, String promptText, String text, Completion completion) {
    return new RewardInput(
        problem, promptText, text, completion.tokens(), finishReason(completion));
  }

  /** The completion's text, without a final end-of-sequence token. */
  static String text(Tokenizer tokenizer, Completion completion, int[] eosIds) {
    int[] tokens = completion.tokens();
    if (tokens.length > 0) {
      int last = tokens[tokens.length - 1];
      for (int eos : eosIds) {
        if (last == eos) {
          tokens = Arrays.copyOf(tokens, tokens.length - 1);
          break;
        }
      }
    }
    return tokenizer.decode(tokens);
  }

  private static FinishReason finishReason(Completion c) {
    return switch (c.finishReason()) {
      case STOP -> FinishReason.STOP;
      case LENGTH -> FinishReason.LENGTH;
      case ABORTED -> FinishReason.UNKNOWN;
    };
  }
}
