package rl.rewards.pipeline;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.EnumMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.pipeline.RewardError.Kind;

/**
 * Calls one reward function in isolation: on threads of its own (never the caller's), at most
 * {@code maxConcurrency} calls at a time, each cut off at the time-out, with identical (prompt id,
 * completion) pairs scored once. Every failure (an exception, a failed stage, a time-out, a
 * non-finite score) becomes an outcome carrying a {@link RewardError} and the fallback score; the
 * returned future itself always completes normally.
 *
 * <p>Waiting calls queue without holding a thread. A timed-out call gives its slot back at once (a
 * call that never ends would otherwise hold it forever) and its thread is interrupted; one that
 * ignores the interrupt keeps its thread and is counted as {@code abandoned} until it ends.
 */
public final class RewardRunner implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(RewardRunner.class.getName());

  private final String label;
  private final RewardFunction function;
  private final CallPolicy policy;
  private final ScheduledExecutorService timer;
  private final ExecutorService executor;
  private final Semaphore slots;
  private final Queue<Call> waiting = new ConcurrentLinkedQueue<>();
  private final AsyncCache<Key, RewardOutcome> cache;
  private volatile boolean closed;

  private final LongAdder calls = new LongAdder();
  private final LongAdder cacheHits = new LongAdder();
  private final LongAdder cacheMisses = new LongAdder();
  private final Map<Kind, LongAdder> errors = new EnumMap<>(Kind.class);
  private final LongAdder finished = new LongAdder();
  private final LongAdder latencyNanos = new LongAdder();
  private final AtomicLong maxLatencyNanos = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicInteger abandoned = new AtomicInteger();

  /** The cache key: the (function, prompt id, completion), the function being ours. */
  private record Key(String promptId, String completion) {}

  /**
   * @param label the function's name in outcomes, metrics and thread names
   * @param cacheEntries most outcomes remembered; 0 turns the cache off
   * @param timer fires time-outs; shared by the runners of a pipeline, owned by the caller
   */
  RewardRunner(
      String label,
      RewardFunction function,
      CallPolicy policy,
      long cacheEntries,
      ScheduledExecutorService timer) {
    this.label = label;
    this.function = function;
    this.policy = policy;
    this.timer = timer;
    this.slots = new Semaphore(policy.maxConcurrency());
    // Unbounded on purpose: at most maxConcurrency threads are busy with live calls; any others
    // are stuck in abandoned calls, and a bound would let those starve the live ones.
    this.executor =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            daemonThreads("reward-" + label));
    this.cache =
        cacheEntries > 0 ? Caffeine.newBuilder().maximumSize(cacheEntries).buildAsync() : null;
    for (Kind kind : Kind.values()) {
      errors.put(kind, new LongAdder());
    }
  }

  public String label() {
    return label;
  }

  public RewardFunction function() {
    return function;
  }

  /**
   * Scores {@code input}. Returns at once; the future completes on one of the runner's threads (a
   * Vert.x caller should hop back to its context) and never exceptionally.
   */
  public CompletableFuture<RewardOutcome> score(RewardInput input) {
    calls.increment();
    if (closed) {
      return CompletableFuture.completedFuture(
          RewardOutcome.failure(
              label, policy.fallback(), new RewardError(Kind.EXCEPTION, "the pipeline is closed")));
    }
    if (cache == null) {
      cacheMisses.increment();
      return enqueue(input, null);
    }
    Key key = new Key(input.problem().id(), input.completion());
    AtomicBoolean computed = new AtomicBoolean();
    CompletableFuture<RewardOutcome> future =
        cache.get(
            key,
            (k, unused) -> {
              computed.set(true);
              return enqueue(input, key);
            });
    (computed.get() ? cacheMisses : cacheHits).increment();
    return future.copy(); // callers must not be able to complete the cached future
  }

  /** A snapshot of the counters. */
  public RewardMetrics metrics() {
    Map<Kind, Long> byKind = new EnumMap<>(Kind.class);
    errors.forEach((kind, count) -> byKind.put(kind, count.sum()));
    long done = finished.sum();
    return new RewardMetrics(
        label,
        function.name(),
        calls.sum(),
        cacheHits.sum(),
        cacheMisses.sum(),
        byKind,
        done == 0 ? 0 : latencyNanos.sum() / 1e6 / done,
        maxLatencyNanos.get() / 1e6,
        inFlight.get(),
        queued.get(),
        abandoned.get());
  }

  /**
   * Stops the runner: waiting calls end with an error, running ones are interrupted, and the
   * function is closed. A function that fails to close is logged, not thrown: shutdown goes on.
   */
  @Override
  public void close() {
    closed = true;
    for (Call call; (call = waiting.poll()) != null; ) {
      queued.decrementAndGet();
      call.result.complete(
          RewardOutcome.failure(
              label, policy.fallback(), new RewardError(Kind.EXCEPTION, "the pipeline is closed")));
    }
    executor.shutdownNow();
    try {
      function.close();
    } catch (Throwable e) {
      LOG.log(System.Logger.Level.WARNING, "reward '" + label + "' failed to close", e);
    }
  }

  // ---- scheduling ----

  /**
   * Queues a call.
   *
   * @param cacheKey where the call's future is cached, or null
   */
  private CompletableFuture<RewardOutcome> enqueue(RewardInput input, Key cacheKey) {
    Call call = new Call(input, cacheKey);
    queued.incrementAndGet();
    waiting.add(call);
    drain();
    return call.result;
  }

  /** Starts waiting calls while slots are free. Safe to call from any thread. */
  private void drain() {
    while (!waiting.isEmpty() && slots.tryAcquire()) {
      Call call = waiting.poll();
      if (call == null) {
        slots.release(); // another thread took it; loop to re-check
        continue;
      }
      queued.decrementAndGet();
      call.start();
    }
  }

  /** One call of the function, from its start to its single outcome. */
  private final class Call {
    final RewardInput input;
    final Key cacheKey;
    final CompletableFuture<RewardOutcome> result = new CompletableFuture<>();
    private final AtomicBoolean done = new AtomicBoolean();
    private long startNanos;
    private volatile ScheduledFuture<?> deadline;
    private volatile Future<?> task;
    private volatile CompletionStage<RewardResult> stage;
    private boolean ended;
    private boolean timedOut;

    Call(RewardInput input, Key cacheKey) {
      this.input = input;
      this.cacheKey = cacheKey;
    }

    void start() {
      inFlight.incrementAndGet();
      startNanos = System.nanoTime();
      try {
        // The timer only hands the time-out to the executor: callbacks never run on its thread.
        deadline =
            timer.schedule(
                () -> onOwnThread(this::timeOut), policy.timeout().toNanos(), TimeUnit.NANOSECONDS);
        task = executor.submit(this::invoke);
      } catch (RejectedExecutionException e) {
        ended();
        finish(failure(Kind.EXCEPTION, "the pipeline is closed"), Kind.EXCEPTION);
      }
    }

    /** Runs {@code action} on one of the runner's threads (here, once the runner is closed). */
    private void onOwnThread(Runnable action) {
      try {
        executor.execute(action);
      } catch (RejectedExecutionException e) {
        action.run(); // closed: finish here rather than never
      }
    }

    private void invoke() {
      if (done.get()) {
        ended(); // timed out before a thread picked it up: the function never ran
        return;
      }
      CompletionStage<RewardResult> returned;
      try {
        returned = function.score(input);
      } catch (Throwable e) {
        ended();
        finish(failure(Kind.EXCEPTION, describe(e)), Kind.EXCEPTION);
        return;
      }
      if (returned == null) {
        ended();
        finish(
            failure(Kind.EXCEPTION, "score() returned null instead of a CompletionStage"),
            Kind.EXCEPTION);
        return;
      }
      stage = returned;
      if (returned instanceof CompletableFuture<RewardResult> ready && ready.isDone()) {
        // Already complete (every SyncRewardFunction): judge it here, on our own thread.
        RewardResult value = null;
        Throwable error = null;
        try {
          value = ready.join();
        } catch (CancellationException | CompletionException e) {
          error = e;
        }
        settle(value, error);
        return;
      }
      // Continue on our own threads, not on whatever thread completes the plug-in's stage.
      returned.whenCompleteAsync((value, error) -> settle(value, error), this::onOwnThread);
    }

    private void settle(RewardResult value, Throwable error) {
      ended();
      if (error != null) {
        finish(failure(Kind.EXCEPTION, describe(error)), Kind.EXCEPTION);
      } else {
        judge(value);
      }
    }

    private void judge(RewardResult value) {
      if (value == null) {
        finish(failure(Kind.EXCEPTION, "the stage completed with a null result"), Kind.EXCEPTION);
        return;
      }
      if (!Double.isFinite(value.score())) {
        finish(failure(Kind.NON_FINITE, "score is " + value.score()), Kind.NON_FINITE);
        return;
      }
      for (Map.Entry<String, Double> component : value.components().entrySet()) {
        if (!Double.isFinite(component.getValue())) {
          finish(
              failure(
                  Kind.NON_FINITE,
                  "component '" + component.getKey() + "' is " + component.getValue()),
              Kind.NON_FINITE);
          return;
        }
      }
      finish(RewardOutcome.success(label, value), null);
    }

    private void timeOut() {
      if (!done.compareAndSet(false, true)) {
        return; // it finished first
      }
      // Counted before the outcome is published, so a reader of the outcome sees the count.
      synchronized (this) {
        if (!ended) {
          timedOut = true;
          abandoned.incrementAndGet();
        }
      }
      complete(
          failure(Kind.TIMEOUT, "no result within " + policy.timeout().toMillis() + " ms"),
          Kind.TIMEOUT);
      Future<?> running = task;
      if (running != null) {
        running.cancel(true); // interrupt a synchronous score() still running
      }
      if (stage instanceof Future<?> pending) {
        pending.cancel(true);
      }
    }

    /** The function's own work is over (it returned, threw, or its stage completed). */
    private synchronized void ended() {
      ended = true;
      if (timedOut) {
        timedOut = false;
        abandoned.decrementAndGet();
      }
    }

    private RewardOutcome failure(Kind kind, String message) {
      return RewardOutcome.failure(label, policy.fallback(), new RewardError(kind, message));
    }

    /** Records the call's only outcome; later attempts (a late result) are ignored. */
    private void finish(RewardOutcome outcome, Kind errorKind) {
      if (done.compareAndSet(false, true)) {
        complete(outcome, errorKind);
      }
    }

    private void complete(RewardOutcome outcome, Kind errorKind) {
      ScheduledFuture<?> timeout = deadline;
      if (timeout != null && errorKind != Kind.TIMEOUT) {
        timeout.cancel(false);
      }
      long nanos = System.nanoTime() - startNanos;
      latencyNanos.add(nanos);
      maxLatencyNanos.accumulateAndGet(nanos, Math::max);
      finished.increment();
      if (errorKind != null) {
        errors.get(errorKind).increment();
      }
      inFlight.decrementAndGet();
      slots.release();
      drain();
      // Failures are not remembered (a flaky checker may well succeed next time); forgotten
      // before anyone sees the outcome, so a retry right after it runs the function again.
      // (Once closed, nothing is cached any more, and this may run inside the cache's compute.)
      if (outcome.isError() && cacheKey != null && !closed) {
        cache.asMap().remove(cacheKey, result);
      }
      result.complete(outcome);
    }
  }

  /** An exception as one line: type, message, and the frame that threw it. */
  static String describe(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    StringBuilder text = new StringBuilder(cause.getClass().getName());
    if (cause.getMessage() != null) {
      text.append(": ").append(cause.getMessage());
    }
    StackTraceElement[] trace = cause.getStackTrace();
    if (trace.length > 0) {
      text.append(" (at ").append(trace[0]).append(')');
    }
    return text.toString();
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
