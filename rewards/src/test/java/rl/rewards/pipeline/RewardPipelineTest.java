package rl.rewards.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;
import rl.rewards.pipeline.RewardError.Kind;
import rl.rewards.text.RegexReward;

class RewardPipelineTest {
  /** Long enough for a healthy call on a loaded machine, short enough to keep the tests quick. */
  private static final Duration SHORT = Duration.ofMillis(300);

  private static final Duration GENEROUS = Duration.ofSeconds(60);

  /** A well-behaved function: 1 if the completion says "yes". */
  static final class Yes extends SyncRewardFunction {
    final AtomicInteger calls = new AtomicInteger();
    final Set<String> threads = ConcurrentHashMap.newKeySet();

    Yes() {
      super("yes");
    }

    @Override
    protected RewardResult scoreSync(RewardInput input) {
      calls.incrementAndGet();
      threads.add(Thread.currentThread().getName());
      return RewardResult.of(input.completion().contains("yes") ? 1 : 0).withComponent("seen", 1);
    }
  }

  /** Throws from score() itself, before any stage exists. */
  static final class Throws implements RewardFunction {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public String name() {
      return "throws";
    }

    @Override
    public CompletionStage<RewardResult> score(RewardInput input) {
      calls.incrementAndGet();
      throw new IllegalStateException("checker crashed");
    }
  }

  /** Returns a stage that never completes. */
  static final class NeverCompletes implements RewardFunction {
    @Override
    public String name() {
      return "never";
    }

    @Override
    public CompletionStage<RewardResult> score(RewardInput input) {
      return new CompletableFuture<>();
    }
  }

  /** Returns NaN. */
  static final class NotANumber extends SyncRewardFunction {
    NotANumber() {
      super("nan");
    }

    @Override
    protected RewardResult scoreSync(RewardInput input) {
      return RewardResult.of(Double.NaN);
    }
  }

  private static CallPolicy policy(Duration timeout, int concurrency, double fallback) {
    return new CallPolicy(timeout, concurrency, fallback);
  }

  private static ScoredCompletion await(CompletableFuture<ScoredCompletion> future) {
    try {
      return future.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("the pipeline did not answer: " + e, e);
    }
  }

  /** Polls {@code condition} for up to a minute: for state that settles after a result. */
  private static void eventually(String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never happened: " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void throwingHangingAndNanPluginsAreRecordedAndTheOthersStillScore() {
    Yes yes = new Yes();
    try (RewardPipeline pipeline =
        RewardPipeline.builder()
            .add("yes", yes, 1.0, policy(GENEROUS, 4, 0))
            .add("throws", new Throws(), 0.5, policy(GENEROUS, 4, 0))
            .add("never", new NeverCompletes(), 0.5, policy(SHORT, 4, -1))
            .add("nan", new NotANumber(), 2.0, policy(GENEROUS, 4, 0.25))
            .build()) {
      List<CompletableFuture<ScoredCompletion>> futures = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        futures.add(pipeline.score(input("yes " + i, "")));
      }
      for (CompletableFuture<ScoredCompletion> future : futures) {
        ScoredCompletion scored = await(future);
        assertEquals(1.0, scored.outcome("yes").score());
        assertNull(scored.outcome("yes").error());

        RewardError thrown = scored.outcome("throws").error();
        assertEquals(Kind.EXCEPTION, thrown.kind());
        assertTrue(
            thrown.message().startsWith("java.lang.IllegalStateException: checker crashed (at "),
            thrown.message());
        assertEquals(Kind.TIMEOUT, scored.outcome("never").error().kind());
        assertEquals("no result within 300 ms", scored.outcome("never").error().message());
        assertEquals(Kind.NON_FINITE, scored.outcome("nan").error().kind());
        assertEquals("score is NaN", scored.outcome("nan").error().message());

        // Fallbacks: 0 for throws, -1 for never, 0.25 for nan.
        assertEquals(-1.0, scored.outcome("never").score());
        assertEquals(1.0 * 1 + 0.5 * 0 + 0.5 * -1 + 2.0 * 0.25, scored.score(), 1e-12);
        assertEquals(Set.of("throws", "never", "nan"), scored.errors().keySet());
        assertEquals(
            Map.of("yes", 1.0, "yes/seen", 1.0, "throws", 0.0, "never", -1.0, "nan", 0.25),
            scored.components());
      }
      Map<String, RewardMetrics> metrics = new java.util.HashMap<>();
      pipeline.metrics().forEach(m -> metrics.put(m.label(), m));
      assertEquals(0, metrics.get("yes").errors());
      assertEquals(3, metrics.get("yes").calls());
      assertEquals(3, metrics.get("throws").errorsByKind().get(Kind.EXCEPTION));
      assertEquals(3, metrics.get("never").timeouts());
      assertEquals(3, metrics.get("nan").errorsByKind().get(Kind.NON_FINITE));
      assertEquals(3L, pipeline.metricsMap().get("reward/never/errors_timeout"));
      assertEquals(0L, pipeline.metricsMap().get("reward/never/errors_exception"));
    }
  }

  @Test
  void functionsNeverRunOnTheCallersThread() {
    Yes yes = new Yes();
    try (RewardPipeline pipeline = RewardPipeline.builder().add(yes).build()) {
      await(pipeline.score(input("yes", "")));
      assertEquals(1, yes.threads.size());
      String thread = yes.threads.iterator().next();
      assertTrue(thread.startsWith("reward-yes-"), thread);
      assertNotEquals(Thread.currentThread().getName(), thread);
    }
  }

  @Test
  void aSyncFunctionThatBlocksIsTimedOutAndInterrupted() throws Exception {
    AtomicBoolean interrupted = new AtomicBoolean();
    RewardFunction sleeper =
        new SyncRewardFunction("sleeper") {
          @Override
          protected RewardResult scoreSync(RewardInput input) {
            try {
              Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
              interrupted.set(true);
            }
            return RewardResult.of(1);
          }
        };
    try (RewardPipeline pipeline =
        RewardPipeline.builder().add("sleeper", sleeper, 1, policy(SHORT, 1, 0)).build()) {
      ScoredCompletion first = await(pipeline.score(input("a", "")));
      assertEquals(Kind.TIMEOUT, first.outcome("sleeper").error().kind());
      eventually("the stuck call is interrupted", interrupted::get);
      eventually("nothing is left abandoned", () -> pipeline.metrics().getFirst().abandoned() == 0);
      // Its slot came back: with max_concurrency 1 a second call still runs (and times out).
      ScoredCompletion second = await(pipeline.score(input("b", "")));
      assertEquals(Kind.TIMEOUT, second.outcome("sleeper").error().kind());
    }
  }

  @Test
  void aFunctionIgnoringInterruptsIsAbandonedAndCannotStallTheOthers() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    RewardFunction stubborn =
        new SyncRewardFunction("stubborn") {
          @Override
          protected RewardResult scoreSync(RewardInput input) {
            while (true) {
              try {
                release.await();
                return RewardResult.of(1);
              } catch (InterruptedException ignored) {
                // ignores interrupts on purpose, like a badly written plug-in
              }
            }
          }
        };
    try (RewardPipeline pipeline =
        RewardPipeline.builder().add("stubborn", stubborn, 1, policy(SHORT, 1, 0)).build()) {
      for (int i = 0; i < 3; i++) {
        ScoredCompletion scored = await(pipeline.score(input("c" + i, "")));
        assertEquals(Kind.TIMEOUT, scored.outcome("stubborn").error().kind());
      }
      assertEquals(3, pipeline.metrics().getFirst().abandoned());
      release.countDown();
      eventually("abandoned calls end", () -> pipeline.metrics().getFirst().abandoned() == 0);
    } finally {
      release.countDown();
    }
  }

  @Test
  void catastrophicRegexIsStoppedByTheTimeOut() throws Exception {
    // java.util.regex memoises the classic (a+)+b; this one still backtracks combinatorially.
    RewardFunction evil = new RegexReward.Factory().create(Map.of("pattern", "(.*a){32}b"));
    try (RewardPipeline pipeline =
        RewardPipeline.builder().add("evil", evil, 1, policy(SHORT, 1, 0)).build()) {
      ScoredCompletion scored = await(pipeline.score(input("a".repeat(64), "")));
      assertEquals(Kind.TIMEOUT, scored.outcome("evil").error().kind());
      eventually("the match is interrupted", () -> pipeline.metrics().getFirst().abandoned() == 0);
    }
  }

  @Test
  void concurrencyIsLimitedAndExtraCallsQueue() throws Exception {
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    RewardFunction gated =
        new SyncRewardFunction("gated") {
          @Override
          protected RewardResult scoreSync(RewardInput input) {
            maxActive.accumulateAndGet(active.incrementAndGet(), Math::max);
            try {
              release.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            } finally {
              active.decrementAndGet();
            }
            return RewardResult.of(1);
          }
        };
    try (RewardPipeline pipeline =
        RewardPipeline.builder().add("gated", gated, 1, policy(GENEROUS, 2, 0)).build()) {
      List<CompletableFuture<ScoredCompletion>> futures = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        futures.add(pipeline.score(input("q" + i, "")));
      }
      eventually("two calls run", () -> active.get() == 2);
      RewardMetrics waiting = pipeline.metrics().getFirst();
      assertEquals(2, waiting.inFlight());
      assertEquals(4, waiting.queued());
      release.countDown();
      for (CompletableFuture<ScoredCompletion> future : futures) {
        assertEquals(1.0, await(future).score());
      }
      assertEquals(2, maxActive.get());
      assertEquals(0, pipeline.metrics().getFirst().queued());
    } finally {
      release.countDown();
    }
  }

  @Test
  void identicalPromptAndCompletionAreScoredOnce() {
    Yes yes = new Yes();
    try (RewardPipeline pipeline = RewardPipeline.builder().add(yes).build()) {
      await(pipeline.score(input("p1", "yes", Map.of())));
      await(pipeline.score(input("p1", "yes", Map.of())));
      await(pipeline.score(input("p2", "yes", Map.of()))); // another prompt: scored again
      await(pipeline.score(input("p1", "yes!", Map.of()))); // another completion: scored again
      assertEquals(3, yes.calls.get());
      RewardMetrics metrics = pipeline.metrics().getFirst();
      assertEquals(4, metrics.calls());
      assertEquals(1, metrics.cacheHits());
      assertEquals(3, metrics.cacheMisses());
      assertEquals(0.25, metrics.cacheHitRate());
      assertEquals(0.25, pipeline.metricsMap().get("reward/yes/cache_hit_rate"));
    }
  }

  @Test
  void failuresAreNotCachedAndTheCacheCanBeTurnedOff() {
    Throws throwing = new Throws();
    Yes yes = new Yes();
    try (RewardPipeline pipeline =
        RewardPipeline.builder()
            .add(throwing)
            .add("yes", yes, 1, CallPolicy.DEFAULTS)
            .cacheEntries(0)
            .build()) {
      await(pipeline.score(input("same", "")));
      await(pipeline.score(input("same", "")));
      assertEquals(2, throwing.calls.get());
      assertEquals(2, yes.calls.get());
      assertEquals(0, pipeline.metrics().getLast().cacheHits());
    }
    Throws cachedThrowing = new Throws();
    try (RewardPipeline pipeline = RewardPipeline.builder().add(cachedThrowing).build()) {
      await(pipeline.score(input("same", "")));
      await(pipeline.score(input("same", "")));
      assertEquals(2, cachedThrowing.calls.get(), "a failure is retried, not remembered");
    }
  }

  @Test
  void aFailedStageAndANullResultAreErrorsToo() {
    RewardFunction failed =
        new RewardFunction() {
          @Override
          public String name() {
            return "failed";
          }

          @Override
          public CompletionStage<RewardResult> score(RewardInput input) {
            return CompletableFuture.supplyAsync(
                () -> {
                  throw new ArithmeticException("sandbox said no");
                });
          }
        };
    RewardFunction nulls =
        new RewardFunction() {
          @Override
          public String name() {
            return "nulls";
          }

          @Override
          public CompletionStage<RewardResult> score(RewardInput input) {
            return null;
          }
        };
    RewardFunction infiniteComponent =
        new SyncRewardFunction("inf") {
          @Override
          protected RewardResult scoreSync(RewardInput input) {
            return RewardResult.of(1).withComponent("ratio", Double.POSITIVE_INFINITY);
          }
        };
    try (RewardPipeline pipeline =
        RewardPipeline.builder().add(failed).add(nulls).add(infiniteComponent).build()) {
      ScoredCompletion scored = await(pipeline.score(input("x", "")));
      assertTrue(
          scored
              .outcome("failed")
              .error()
              .message()
              .startsWith("java.lang.ArithmeticException: sandbox said no"),
          scored.outcome("failed").error().message());
      assertEquals(
          "score() returned null instead of a CompletionStage",
          scored.outcome("nulls").error().message());
      assertEquals(
          new RewardError(Kind.NON_FINITE, "component 'ratio' is Infinity"),
          scored.outcome("inf").error());
    }
  }

  @Test
  void afterCloseCallsEndWithAnErrorInsteadOfHanging() {
    RewardPipeline pipeline = RewardPipeline.builder().add(new Yes()).build();
    pipeline.close();
    ScoredCompletion scored = await(pipeline.score(input("yes", "")));
    assertEquals("the pipeline is closed", scored.outcome("yes").error().message());
  }
}
