package rl.core.messages;

import java.util.List;

/**
 * Requests the sampler admits together: what one step needs. Sent as one message so the sampler
 * batches them the same way however the event bus times their arrival, which keeps a run
 * reproducible.
 */
public record SampleBatch(List<SampleRequest> requests) {
  public SampleBatch {
    requests = List.copyOf(requests);
  }
}
