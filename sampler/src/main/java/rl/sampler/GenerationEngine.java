package rl.sampler;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.Completion;
import rl.core.messages.FinishReason;
import rl.core.messages.RolloutGroup;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.KvCache;
import rl.core.model.Linear;
import rl.core.model.Parameter;
import rl.core.model.SequenceBatch;
import rl.core.safetensors.FloatTensor;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;
import rl.core.tokenizer.IncrementalDecoder;
import rl.core.tokenizer.Tokenizer;

/**
 * Batched generation over a KV cache with continuous batching.
 *
 * <p>Each request's prompt is prefilled once, into the slot of its first sample; the other G - 1
 * samples read the prompt's keys and values from there (a shared prefix: attention reads those rows
 * once for the group instead of G copies) and keep only their own tokens in their slots ({@code
 * -Drl.sampler.sharePrompts=false} copies the prompt to every slot instead). Then every step feeds
 * one token per live sequence, whatever its length. A finished sequence frees its slot at once,
 * unless other samples still read the prompt there (then when the last of them finishes), and the
 * queue refills it on the next step. Adapter updates wait for the end of a step; the in-flight
 * sequences' caches are then recomputed with the new adapter, so every token's recorded logprob is
 * exactly its policy version's.
 *
 * <p>Single-threaded: {@link #submit} and {@link #updateAdapter} may be called from any thread,
 * everything else from the one compute thread that calls {@link #step}.
 */
public final class GenerationEngine {
  private final Decoder model;
  private final Ops ops;
  private final KvCache cache;
  private final int maxLength;
  private final int prefillBudget;
  private final int[] eosIds;
  private final Tokenizer tokenizer;
  private final Activations acts;
  private final Tensor logits;

  private final ConcurrentLinkedQueue<Pending> submitted = new ConcurrentLinkedQueue<>();
  private final Deque<Pending> queue = new ArrayDeque<>();
  private final ConcurrentLinkedQueue<AdapterUpdate> updates = new ConcurrentLinkedQueue<>();
  private final Deque<Integer> freeSlots = new ArrayDeque<>();

  /** Live sequences reading each slot: its own sample, and the samples sharing its prompt. */
  private final int[] slotReaders;

  /** Whether a group's samples read its prompt from the first sample's slot, not from copies. */
  private final boolean sharePrompts =
      Boolean.parseBoolean(System.getProperty("rl.sampler.sharePrompts", "true"));

  private final List<Sequence> live = new ArrayList<>();
  private int version;
  private final EngineStats stats = new EngineStats();

  /** A submitted request and where its group goes when done. */
  private record Pending(SampleRequest request, Consumer<RolloutGroup> onDone) {}

  /** The G samples of one request while they are generated. */
  private static final class Group {
    final Pending pending;
    final Completion[] done;
    int remaining;

    Group(Pending pending) {
      this.pending = pending;
      this.done = new Completion[pending.request.groupSize()];
      this.remaining = done.length;
    }
  }

  /** One sample: its cache slot, what it has generated, and its own random stream. */
  private static final class Sequence {
    final Group group;
    final int index;
    final int slot;
    final SplittableRandom random;
    final IncrementalDecoder text;
    int[] tokens = new int[16];
    float[] logprobs = new float[16];
    int[] versions = new int[16];
    int generated;

    /** Tokens whose keys and values are in the cache: the prompt and all but the last token. */
    int cached;

    /** The slot whose first {@code prompt().length} rows hold this sample's prompt; -1: its own. */
    int promptSlot = -1;

    Sequence(Group group, int index, int slot, Tokenizer tokenizer) {
      this.group = group;
      this.index = index;
      this.slot = slot;
      SamplingParams params = group.pending.request.params();
      // A stream per (seed, sample index): the same completions however requests are batched.
      this.random = new SplittableRandom(params.seed() * 0x9E3779B97F4A7C15L + index);
      this.text =
          params.stop().isEmpty() || tokenizer == null ? null : new IncrementalDecoder(tokenizer);
    }

    void add(int token, double logprob, int version) {
      if (generated == tokens.length) {
        tokens = Arrays.copyOf(tokens, 2 * generated);
        logprobs = Arrays.copyOf(logprobs, 2 * generated);
        versions = Arrays.copyOf(versions, 2 * generated);
      }
      tokens[generated] = token;
      logprobs[generated] = (float) logprob;
      versions[generated] = version;
      generated++;
    }

    int last() {
      return tokens[generated - 1];
    }

    int[] prompt() {
      return group.pending.request.promptTokens();
    }
  }

  /**
   * @param model the policy; an attached adapter is what updates replace
   * @param slots most sequences decoded at once
   * @param maxLength longest sequence (prompt + completion) a slot holds
   * @param prefillBudget most prompt tokens prefilled in one step (bounds activation memory)
   * @param eosIds token ids that end a completion
   * @param tokenizer decodes completions for stop strings; null when there are none
   */
  public GenerationEngine(
      Decoder model,
      int slots,
      int maxLength,
      int prefillBudget,
      int[] eosIds,
      Tokenizer tokenizer) {
    this.model = model;
    this.ops = model.ops();
    this.cache = new KvCache(ops, model.config(), slots, maxLength);
    this.maxLength = maxLength;
    this.prefillBudget = Math.max(prefillBudget, maxLength);
    this.eosIds = eosIds.clone();
    this.tokenizer = tokenizer;
    this.acts = model.newActivations(Math.max(this.prefillBudget, slots), false);
    this.logits = ops.zeros(slots, model.config().vocabSize());
    for (int s = 0; s < slots; s++) {
      freeSlots.add(s);
    }
    this.slotReaders = new int[slots];
  }

  /** Queues a request; {@code onDone} runs on the compute thread when its group is complete. */
  public void submit(SampleRequest request, Consumer<RolloutGroup> onDone) {
    validate(request);
    synchronized (submitted) {
      submitted.add(new Pending(request, onDone));
    }
  }

  private void validate(SampleRequest request) {
    if (request.groupSize() > cache.slots()) {
      throw new IllegalArgumentException(
          "request "
              + request.requestId()
              + " wants "
              + request.groupSize()
              + " samples but the sampler has "
              + cache.slots()
              + " slots");
    }
    if (request.promptTokens().length >= maxLength) {
      throw new IllegalArgumentException(
          "request "
              + request.requestId()
              + ": prompt of "
              + request.promptTokens().length
              + " tokens leaves no room in sequences of at most "
              + maxLength);
    }
    int vocab = model.config().vocabSize();
    for (int t : request.promptTokens()) {
      if (t < 0 || t >= vocab) {
        throw new IllegalArgumentException(
            "request " + request.requestId() + ": token id " + t + " outside [0, " + vocab + ")");
      }
    }
  }

  /**
   * Queues requests to be admitted together: no engine step sees only some of them, so their
   * batching does not depend on when they arrived.
   */
  public void submitAll(List<SampleRequest> requests, Consumer<RolloutGroup> onDone) {
    List<Pending> pending = new ArrayList<>();
    for (SampleRequest request : requests) {
      validate(request);
      pending.add(new Pending(request, onDone));
    }
    synchronized (submitted) {
      submitted.addAll(pending);
    }
  }

  /** Queues new adapter weights, applied between two steps. */
  public void updateAdapter(AdapterUpdate update) {
    updates.add(update);
  }

  /** The adapter version new tokens are drawn with. */
  public int version() {
    return version;
  }

  public EngineStats stats() {
    return stats;
  }

  /** Whether anything is queued or being generated. */
  public boolean busy() {
    return !live.isEmpty() || !queue.isEmpty() || !submitted.isEmpty() || !updates.isEmpty();
  }

  /** Generates until every submitted request is done. */
  public void runUntilIdle() {
    while (busy()) {
      step();
    }
  }

  /**
   * One engine step: apply a pending adapter update, admit queued requests into free slots (prefill
   * and first token), then decode one token for every live sequence.
   */
  public void step() {
    long start = System.nanoTime();
    synchronized (submitted) {
      for (Pending p; (p = submitted.poll()) != null; ) {
        queue.add(p);
      }
    }
    for (AdapterUpdate u; (u = updates.poll()) != null; ) {
      apply(u);
    }
    int admittedTokens = admit();
    int decoded = decode();
    stats.record(
        System.nanoTime() - start,
        decoded,
        admittedTokens,
        live.size(),
        cache.slots(),
        queue.size());
  }

  // ---- admission: prefill once, fork to G slots, draw the first tokens ----

  private int admit() {
    List<Pending> batch = new ArrayList<>();
    int tokens = 0;
    int slotsLeft = freeSlots.size();
    while (!queue.isEmpty()) {
      Pending next = queue.peek();
      int length = next.request.promptTokens().length;
      if (next.request.groupSize() > slotsLeft
          || (!batch.isEmpty() && tokens + length > prefillBudget)) {
        break;
      }
      batch.add(queue.poll());
      tokens += length;
      slotsLeft -= next.request.groupSize();
    }
    if (batch.isEmpty()) {
      return 0;
    }
    List<Group> groups = new ArrayList<>();
    List<int[]> prompts = new ArrayList<>();
    int[] firstSlots = new int[batch.size()];
    List<List<Integer>> slotsOf = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      Pending p = batch.get(i);
      groups.add(new Group(p));
      prompts.add(p.request.promptTokens());
      List<Integer> slots = new ArrayList<>();
      for (int g = 0; g < p.request.groupSize(); g++) {
        slots.add(freeSlots.poll());
      }
      slotsOf.add(slots);
      firstSlots[i] = slots.getFirst();
    }
    // If the backend fails before the first tokens are drawn, the whole batch goes back to the
    // front of the queue (samples made live leave again, every slot is freed), so that abortAll,
    // or a later step, ends them: none is lost and none stays live without a token.
    List<Sequence> admitted = new ArrayList<>();
    try {
      SequenceBatch prefill =
          SequenceBatch.withCache(prompts, firstSlots, new int[batch.size()], cache);
      Tensor hidden = model.forward(acts, prefill, cache);
      // Every new sequence's first token from its prompt's last position: the logits row once per
      // prompt, copied to one row per sequence of the group, then drawn like decode steps draw.
      for (int i = 0; i < batch.size(); i++) {
        int[] prompt = prompts.get(i);
        int lastRow = prefill.attention().queryStart()[i] + prompt.length - 1;
        Group group = groups.get(i);
        // The backend's work for this request first, then its samples go live (no call between).
        int row = admitted.size();
        Tensor first = ops.rows(logits, row, 1);
        ops.logits(first, ops.rows(hidden, lastRow, 1), model.head().value(), 1f);
        for (int g = 1; g < group.done.length; g++) {
          if (!sharePrompts) {
            cache.copySlot(ops, firstSlots[i], slotsOf.get(i).get(g), prompt.length);
          }
          ops.copy(ops.rows(logits, row + g, 1), first);
        }
        for (int g = 0; g < group.done.length; g++) {
          int slot = slotsOf.get(i).get(g);
          Sequence sequence = new Sequence(group, g, slot, tokenizer);
          slotReaders[slot]++;
          if (g > 0 && sharePrompts) {
            sequence.promptSlot = firstSlots[i];
            slotReaders[firstSlots[i]]++;
          }
          sequence.cached = prompt.length;
          live.add(sequence);
          admitted.add(sequence);
        }
      }
      drawTokens(admitted, ops.rows(logits, 0, admitted.size()), new long[1]);
    } catch (RuntimeException e) {
      for (Sequence s : admitted) {
        live.remove(s);
        releaseSlots(s);
      }
      for (int i = batch.size() - 1; i >= 0; i--) {
        for (int slot : slotsOf.get(i)) {
          if (slotReaders[slot] == 0 && !freeSlots.contains(slot)) {
            freeSlots.add(slot); // never made live
          }
        }
        queue.addFirst(batch.get(i));
      }
      throw e;
    }
    return tokens;
  }

  // ---- decoding: one token for every live sequence ----

  /**
   * The key of a decode step's recording: this engine's steps over as many sequences repeat the
   * same calls. The engine's number is part of the key because engines on one backend have their
   * own buffers; a number rather than the engine, so that a backend's recordings do not keep
   * finished engines (and their KV caches) alive.
   */
  private record DecodeStep(long engine, int sequences) {}

  private static final java.util.concurrent.atomic.AtomicLong ENGINES =
      new java.util.concurrent.atomic.AtomicLong();

  private final long engineNumber = ENGINES.incrementAndGet();

  private int decode() {
    if (live.isEmpty()) {
      return 0;
    }
    long start = System.nanoTime();
    long[] backendNanos = {0};
    int decoded = decodeTokens(backendNanos);
    stats.recordDecode(System.nanoTime() - start, backendNanos[0]);
    return decoded;
  }

  /** Decodes one token for every live sequence; adds the time in backend calls to {@code nanos}. */
  private int decodeTokens(long[] nanos) {
    List<int[]> next = new ArrayList<>(live.size());
    int[] slots = new int[live.size()];
    int[] past = new int[live.size()];
    int[] promptSlots = new int[live.size()];
    int[] promptLengths = new int[live.size()];
    for (int i = 0; i < live.size(); i++) {
      Sequence s = live.get(i);
      next.add(new int[] {s.last()});
      slots[i] = s.slot;
      past[i] = s.cached;
      promptSlots[i] = s.promptSlot;
      promptLengths[i] = s.prompt().length;
    }
    SequenceBatch batch =
        SequenceBatch.withCache(next, slots, past, promptSlots, promptLengths, cache);
    Tensor rows = ops.rows(logits, 0, live.size());
    // The same calls on the same buffers every step of a batch size: a GPU backend replays them
    // as one CUDA graph.
    long forwardStart = System.nanoTime();
    ops.replayable(
        new DecodeStep(engineNumber, live.size()),
        () -> {
          Tensor hidden = model.forward(acts, batch, cache);
          ops.logits(rows, hidden, model.head().value(), 1f);
        });
    nanos[0] += System.nanoTime() - forwardStart;
    for (Sequence s : live) {
      s.cached++; // the token just fed is in the cache now
    }
    return drawTokens(new ArrayList<>(live), rows, nanos);
  }

  /**
   * Draws the next token of each of {@code stepping} from its row of {@code rows} (raw logits, one
   * row per sequence, in order) and records it; adds the time in backend calls to {@code nanos}.
   * Returns how many were drawn.
   */
  private int drawTokens(List<Sequence> stepping, Tensor rows, long[] nanos) {
    int vocab = model.config().vocabSize();
    int n = stepping.size();
    boolean wholeDistributions = true;
    for (Sequence s : stepping) {
      SamplingParams params = s.group.pending.request.params();
      wholeDistributions &= params.isGreedy() || !TokenSampler.isFiltered(params, vocab);
    }
    if (wholeDistributions) {
      // The backend samples (on a GPU only B tokens and logprobs cross to the host); each draw
      // still comes from the sequence's own stream, so completions do not depend on batching.
      double[] inverseTemperature = new double[n];
      double[] uniform = new double[n];
      for (int i = 0; i < n; i++) {
        Sequence s = stepping.get(i);
        SamplingParams params = s.group.pending.request.params();
        inverseTemperature[i] = 1.0 / params.logprobTemperature();
        double u = s.random.nextDouble();
        uniform[i] = params.isGreedy() ? -1 : u;
      }
      int[] tokens = new int[n];
      double[] logprobs = new double[n];
      long sampleStart = System.nanoTime();
      ops.sampleTokens(rows, inverseTemperature, uniform, tokens, logprobs);
      nanos[0] += System.nanoTime() - sampleStart;
      for (int i = 0; i < n; i++) {
        record(stepping.get(i), tokens[i], logprobs[i]);
      }
      return n;
    }
    long downloadStart = System.nanoTime();
    float[] all = ops.download(rows);
    nanos[0] += System.nanoTime() - downloadStart;
    for (int i = 0; i < n; i++) {
      sample(stepping.get(i), Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab));
    }
    return n;
  }

  /** Draws the sequence's next token from raw logits {@code z}, then checks whether it is done. */
  private void sample(Sequence s, float[] z) {
    SamplingParams params = s.group.pending.request.params();
    TokenSampler.Choice choice = TokenSampler.choose(z, params, s.random.nextDouble());
    record(s, choice.token(), choice.logprob());
  }

  /** Appends a drawn token to the sequence, then checks whether it is done. */
  private void record(Sequence s, int token, double logprob) {
    SamplingParams params = s.group.pending.request.params();
    s.add(token, logprob, version);
    FinishReason reason = null;
    if (isEos(token)) {
      reason = FinishReason.STOP;
    } else if (s.text != null && endsWithStop(s, params)) {
      reason = FinishReason.STOP;
    } else if (s.generated >= params.maxTokens() || s.prompt().length + s.generated >= maxLength) {
      reason = FinishReason.LENGTH;
    }
    if (reason != null) {
      finish(s, reason);
    }
  }

  private boolean isEos(int token) {
    for (int id : eosIds) {
      if (id == token) {
        return true;
      }
    }
    return false;
  }

  /** Feeds the new token to the sequence's text and looks for a stop string in its tail. */
  private static boolean endsWithStop(Sequence s, SamplingParams params) {
    String added = s.text.push(s.last());
    if (added.isEmpty()) {
      return false;
    }
    String text = s.text.text();
    for (String stop : params.stop()) {
      // Only a match that involves the new text is new.
      int from = Math.max(0, text.length() - added.length() - stop.length() + 1);
      if (text.indexOf(stop, from) >= 0) {
        return true;
      }
    }
    return false;
  }

  private void finish(Sequence s, FinishReason reason) {
    live.remove(s);
    releaseSlots(s);
    s.group.done[s.index] =
        new Completion(
            Arrays.copyOf(s.tokens, s.generated),
            Arrays.copyOf(s.logprobs, s.generated),
            Arrays.copyOf(s.versions, s.generated),
            reason);
    if (--s.group.remaining == 0) {
      SampleRequest request = s.group.pending.request;
      stats.groupsDone++;
      s.group.pending.onDone.accept(
          new RolloutGroup(request.requestId(), request.promptTokens(), List.of(s.group.done)));
    }
  }

  /** Ends every live and queued request with what it has, finish reason {@code aborted}. */
  public void abortAll() {
    for (Sequence s : new ArrayList<>(live)) {
      finish(s, FinishReason.ABORTED);
    }
    for (Pending p; (p = submitted.poll()) != null; ) {
      queue.add(p);
    }
    for (Pending p; (p = queue.poll()) != null; ) {
      Completion[] empty = new Completion[p.request.groupSize()];
      Arrays.fill(
          empty, new Completion(new int[0], new float[0], new int[0], FinishReason.ABORTED));
      p.onDone.accept(
          new RolloutGroup(p.request.requestId(), p.request.promptTokens(), List.of(empty)));
    }
  }

  // ---- adapter updates ----

  /**
   * Copies planned for device snapshots seen before, by the snapshot's map (identity): a learner
   * reuses its snapshots, so a sync checks and describes its ~300 tensors once, not every time.
   */
  private final Map<Map<String, Tensor>, PlannedCopies> plannedCopies =
      new java.util.IdentityHashMap<>();

  /** Copies out of a snapshot into these parameters' values as they were when planned. */
  private record PlannedCopies(
      List<Parameter> parameters, List<Tensor> destinations, Ops.CopyPlan copies) {
    /** Whether every parameter still has the value planned for (an adapter swap replaces them). */
    boolean current() {
      return Parameter.holdValues(parameters, destinations);
    }
  }

  /** Snapshots remembered at most (a colocated learner keeps one or two). */
  private static final int MAX_PLANNED_COPIES = 4;

  private void apply(AdapterUpdate update) {
    Map<String, Tensor> onDevice = update.onDevice();
    // In place: the tensors keep their device addresses, so recorded decode steps stay valid.
    if (onDevice.isEmpty()) {
      for (Parameter p : checked(update)) {
        ops.write(p.value(), update.tensors().get(p.name()).data());
      }
    } else {
      PlannedCopies planned = plannedCopies.get(onDevice);
      if (planned == null || !planned.current()) {
        List<Parameter> parameters = checked(update);
        List<Tensor> dst = new ArrayList<>();
        List<Tensor> src = new ArrayList<>();
        for (Parameter p : parameters) {
          dst.add(p.value());
          src.add(onDevice.get(p.name()));
        }
        planned = new PlannedCopies(parameters, dst, ops.planCopies(dst, src));
        if (plannedCopies.size() >= MAX_PLANNED_COPIES) {
          plannedCopies.clear();
        }
        plannedCopies.put(onDevice, planned);
      }
      planned.copies().run();
      update.whenCopied().run();
    }
    version = update.version();
    stats.updatesApplied++;
    recomputeCaches();
  }

  /** The model's parameters an update overwrites, after checking its names and shapes. */
  private List<Parameter> checked(AdapterUpdate update) {
    List<Parameter> required = new ArrayList<>();
    for (Linear linear : model.linears()) {
      if (linear.loraA() != null) {
        required.add(linear.loraA());
        required.add(linear.loraB());
      }
    }
    if (required.isEmpty()) {
      // No adapter: the update carries every weight (full fine-tuning).
      required.addAll(model.parameters());
    }
    Map<String, FloatTensor> tensors = update.tensors();
    Map<String, Tensor> onDevice = update.onDevice();
    java.util.Set<String> names = onDevice.isEmpty() ? tensors.keySet() : onDevice.keySet();
    for (Parameter p : required) {
      if (!names.contains(p.name())) {
        throw new IllegalArgumentException(
            "adapter update " + update.version() + " lacks tensor " + p.name());
      }
    }
    // Besides those, an update may carry base weights that a ReLoRA merge changed.
    Map<String, Parameter> byName = new java.util.HashMap<>();
    for (Parameter p : model.parameters()) {
      byName.put(p.name(), p);
    }
    for (Parameter p : required) {
      byName.put(p.name(), p);
    }
    List<Parameter> updated = new ArrayList<>();
    for (String name : names) {
      Parameter p = byName.get(name);
      if (p == null) {
        throw new IllegalArgumentException(
            "adapter update "
                + update.version()
                + " has tensor "
                + name
                + ", unknown to the model");
      }
      boolean fits =
          onDevice.isEmpty()
              ? tensors.get(name).data().length == p.value().size()
              : onDevice.get(name).rows() == p.value().rows()
                  && onDevice.get(name).cols() == p.value().cols();
      if (!fits) {
        String got =
            onDevice.isEmpty()
                ? tensors.get(name).data().length + " values"
                : "shape " + onDevice.get(name).shapeString();
        throw new IllegalArgumentException(
            "adapter update "
                + update.version()
                + ": tensor "
                + name
                + " has "
                + got
                + ", expected "
                + p.value().shapeString());
      }
      updated.add(p);
    }
    return updated;
  }

  /** A sample that leaves stops reading its own slot and the one holding its prompt. */
  private void releaseSlots(Sequence s) {
    release(s.slot);
    if (s.promptSlot >= 0) {
      release(s.promptSlot);
    }
  }

  /** One reader fewer for a slot; the last frees it. */
  private void release(int slot) {
    if (--slotReaders[slot] == 0) {
      freeSlots.add(slot);
    }
  }

  /**
   * Re-prefills every live sequence's cached tokens with the current adapter, each into its own
   * slot whole: no sample reads a shared prompt afterwards.
   */
  private void recomputeCaches() {
    for (Sequence s : live) {
      if (s.promptSlot >= 0) {
        release(s.promptSlot);
        s.promptSlot = -1;
      }
    }
    int i = 0;
    while (i < live.size()) {
      List<int[]> chunks = new ArrayList<>();
      List<Integer> slots = new ArrayList<>();
      int tokens = 0;
      while (i < live.size()) {
        Sequence s = live.get(i);
        if (!chunks.isEmpty() && tokens + s.cached > prefillBudget) {
          break;
        }
        int[] cached = Arrays.copyOf(s.prompt(), s.cached);
        System.arraycopy(s.tokens, 0, cached, s.prompt().length, s.cached - s.prompt().length);
        chunks.add(cached);
        slots.add(s.slot);
        tokens += s.cached;
        i++;
      }
      SequenceBatch batch =
          SequenceBatch.withCache(
              chunks,
              slots.stream().mapToInt(Integer::intValue).toArray(),
              new int[chunks.size()],
              cache);
      model.forward(acts, batch, cache);
    }
  }
}
