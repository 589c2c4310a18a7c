package rl.sampler;

/**
 * Running counters of a {@link GenerationEngine}: what a sampler publishes as metrics. Updated on
 * the compute thread; read {@link #snapshot} from elsewhere.
 */
public final class EngineStats {
  long steps;
  long decodedTokens;
  long prefillTokens;
  long stepNanos;
  long occupiedSlotSteps;
  long slotSteps;
  long groupsDone;
  long updatesApplied;
  int queueDepth;
  long decodeNanos;
  long decodeBackendNanos;

  /**
   * One decode phase of a step: {@code nanos} in all, {@code backendNanos} of them inside the
   * backend's forward and sampling calls (on a GPU, launching and then waiting for the device); the
   * rest is the engine's own bookkeeping, during which a GPU has no work queued. So the rest is a
   * lower bound of the device's idle time: uploads inside the forward call leave it idle too.
   */
  void recordDecode(long nanos, long backendNanos) {
    decodeNanos += nanos;
    decodeBackendNanos += backendNanos;
  }

  void record(long nanos, int decoded, int prefilled, int liveAfter, int slots, int queued) {
    steps++;
    stepNanos += nanos;
    decodedTokens += decoded;
    prefillTokens += prefilled;
    occupiedSlotSteps += decoded;
    slotSteps += decoded > 0 ? slots : 0;
    queueDepth = queued;
  }

  /** Counters at one moment. */
  public record Snapshot(
      long steps,
      long decodedTokens,
      long prefillTokens,
      double seconds,
      double batchOccupancy,
      long groupsDone,
      long updatesApplied,
      int queueDepth,
      double decodeSeconds,
      double decodeBackendSeconds) {
    public double decodeTokensPerSecond() {
      return seconds == 0 ? 0 : decodedTokens / seconds;
    }

    /** The share of decode time spent outside the backend's forward and sampling calls. */
    public double decodeHostShare() {
      return decodeSeconds == 0 ? 0 : 1 - decodeBackendSeconds / decodeSeconds;
    }
  }

  public synchronized Snapshot snapshot() {
    return new Snapshot(
        steps,
        decodedTokens,
        prefillTokens,
        stepNanos / 1e9,
        slotSteps == 0 ? 0 : (double) occupiedSlotSteps / slotSteps,
        groupsDone,
        updatesApplied,
        queueDepth,
        decodeNanos / 1e9,
        decodeBackendNanos / 1e9);
  }
}
