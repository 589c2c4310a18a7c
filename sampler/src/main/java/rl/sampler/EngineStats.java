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
      int queueDepth) {
    public double decodeTokensPerSecond() {
      return seconds == 0 ? 0 : decodedTokens / seconds;
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
        queueDepth);
  }
}
