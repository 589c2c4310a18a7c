package rl.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * CUDA graphs for repeated steps ({@link CudaOps#replayable}): a step that comes back under the
 * same key (a decode step over the same number of sequences) is recorded once by stream capture and
 * then replayed with one launch instead of hundreds, which takes the host's per-launch cost out of
 * the step.
 *
 * <p>How a replay stays correct: the step's Java code runs again in replay mode, where every op
 * checks its inputs as usual but, instead of launching, compares its launch (kernel, grid, every
 * argument, including device addresses) with the recording; any difference aborts the replay and
 * the step runs eagerly. Host int arrays (token ids, positions, batch layout) are the one input
 * that may change: they live in a per-graph arena, a pinned host block copied to a device block
 * before each replay, so the graph reads each step's values at fixed addresses.
 */
final class StepGraphs {
  /** Graphs kept, least recently used dropped first. */
  static final int MAX_GRAPHS = 16;

  /** Ints per graph arena (1 MiB). */
  static final int ARENA_INTS = 1 << 18;

  enum Mode {
    EAGER,
    CAPTURE,
    REPLAY
  }

  /** Thrown inside a replay that does not match its recording; the step then runs eagerly. */
  static final class Mismatch extends RuntimeException {
    Mismatch(String what) {
      super(what, null, false, false);
    }
  }

  /** One recorded step. */
  private static final class Graph {
    CUgraphExec_st exec;
    final long[] trace;
    final int[] intOffsets; // per ints() call: its arena offset
    final int[] intSources; // per call: the earlier call whose values it reuses, or -1
    final int[] intLengths;
    final int arenaUsed;
    final Arena arena;

    Graph(
        CUgraphExec_st exec,
        long[] trace,
        int[] intOffsets,
        int[] intSources,
        int[] intLengths,
        int arenaUsed,
        Arena arena) {
      this.exec = exec;
      this.trace = trace;
      this.intOffsets = intOffsets;
      this.intSources = intSources;
      this.intLengths = intLengths;
      this.arenaUsed = arenaUsed;
      this.arena = arena;
    }
  }

  /** A pinned host block and a device block of {@link #ARENA_INTS} ints. */
  private static final class Arena {
    final IntPointer host;
    final CudaTensor.Allocation device;

    Arena(Cuda cuda) {
      Pointer p = new Pointer();
      Cuda.check(cudaMallocHost(p, 4L * ARENA_INTS), "cudaMallocHost of a graph's int arena");
      host = new IntPointer(p).capacity(ARENA_INTS);
      device = CudaTensor.Allocation.allocate(cuda, 4L * ARENA_INTS);
    }

    void free() {
      cudaFreeHost(host);
    }
  }

  private final Cuda cuda;
  private final CUstream_st stream;
  private final Map<Object, Graph> graphs =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Object, Graph> eldest) {
          if (size() > MAX_GRAPHS) {
            destroy(eldest.getValue());
            return true;
          }
          return false;
        }
      };

  /** How often each key has been seen, so that a step is captured on its second appearance. */
  private final Map<Object, Integer> seen = new LinkedHashMap<>();

  /** Failed captures in a row per key. */
  private final Map<Object, Integer> failures = new LinkedHashMap<>();

  private Mode mode = Mode.EAGER;

  // The step being captured or replayed.
  private long[] trace = new long[1 << 14];
  private int traceLength;
  private Graph current;
  private Arena arena;
  private int arenaUsed;
  private final List<int[]> intValues = new ArrayList<>();
  private final List<Integer> intOffsets = new ArrayList<>();
  private final List<Integer> intSources = new ArrayList<>();

  private long replays;
  private long captures;
  private long fallbacks;

  StepGraphs(Cuda cuda, CUstream_st stream) {
    this.cuda = cuda;
    this.stream = stream;
  }

  Mode mode() {
    return mode;
  }

  long captures() {
    return captures;
  }

  long replays() {
    return replays;
  }

  long fallbacks() {
    return fallbacks;
  }

  /** Replays, captures and replays abandoned for eager runs so far. */
  String stats() {
    return captures + " captured, " + replays + " replayed, " + fallbacks + " run eagerly instead";
  }

  /** Runs {@code step} eagerly, or records it, or replays its recording. */
  void run(Object key, Runnable step) {
    if (mode != Mode.EAGER) {
      throw new IllegalStateException("replayable steps do not nest");
    }
    Graph graph = graphs.get(key);
    if (graph != null) {
      if (replay(graph, step)) {
        replays++;
        return;
      }
      // The step changed (new adapter tensors after a sync, say): drop the recording and capture
      // the new form the next time it comes.
      graphs.remove(key);
      destroy(graph);
      seen.put(key, 1);
      fallbacks++;
      step.run();
      return;
    }
    int times = seen.merge(key, 1, Integer::sum);
    if (seen.size() > 4 * MAX_GRAPHS) {
      seen.clear();
      failures.clear();
    }
    // Second sight captures; after failed captures, wait 2, 4, 8, ... sightings before trying
    // again (a step may fail once for a passing reason, such as a RoPE table growing in it).
    int failed = failures.getOrDefault(key, 0);
    if (times < 2 << Math.min(failed, 10)) {
      step.run();
      return;
    }
    Graph captured = capture(step);
    if (captured == null) {
      failures.put(key, failed + 1);
      seen.put(key, 0);
      fallbacks++;
      step.run();
      return;
    }
    failures.remove(key);
    graphs.put(key, captured);
    captures++;
    launch(captured);
  }

  /** Records a launch (capture) or checks it against the recording (replay); true to launch. */
  boolean admit(long... signature) {
    switch (mode) {
      case EAGER -> {
        return true;
      }
      case CAPTURE -> {
        if (traceLength + signature.length + 1 > trace.length) {
          trace = Arrays.copyOf(trace, 2 * (traceLength + signature.length + 1));
        }
        trace[traceLength++] = signature.length;
        System.arraycopy(signature, 0, trace, traceLength, signature.length);
        traceLength += signature.length;
        return true;
      }
      default -> {
        long[] recorded = current.trace;
        if (traceLength + signature.length + 1 > recorded.length
            || recorded[traceLength] != signature.length
            || !Arrays.equals(
                recorded,
                traceLength + 1,
                traceLength + 1 + signature.length,
                signature,
                0,
                signature.length)) {
          throw new Mismatch("launch " + traceLength + " differs from the recording");
        }
        traceLength += signature.length + 1;
        return false;
      }
    }
  }

  /**
   * Host ints for a kernel during capture or replay: their device address in the graph's arena. An
   * array equal to an earlier one of the same step shares its slot (the layers of a step pass the
   * same positions and layout again and again).
   */
  long ints(int[] values) {
    int call = intValues.size();
    if (mode == Mode.CAPTURE) {
      int source = -1;
      for (int i = 0; i < call && source < 0; i++) {
        if (intSources.get(i) < 0 && Arrays.equals(intValues.get(i), values)) {
          source = i;
        }
      }
      int offset;
      if (source >= 0) {
        offset = intOffsets.get(source);
      } else {
        if (arenaUsed + Math.max(1, values.length) > ARENA_INTS) {
          throw new Mismatch("the step's host ints outgrow the graph arena");
        }
        offset = arenaUsed;
        arena.host.position(offset).put(values, 0, values.length);
        arenaUsed += Math.max(1, values.length);
      }
      intValues.add(values.clone());
      intOffsets.add(offset);
      intSources.add(source);
      return arena.device.address + 4L * offset;
    }
    // replay
    if (call >= current.intOffsets.length || current.intLengths[call] != values.length) {
      throw new Mismatch("host ints " + call + " differ in number from the recording");
    }
    int source = current.intSources[call];
    if (source >= 0) {
      if (!Arrays.equals(intValues.get(source), values)) {
        throw new Mismatch("host ints " + call + " no longer equal those of call " + source);
      }
    } else {
      current.arena.host.position(current.intOffsets[call]).put(values, 0, values.length);
    }
    intValues.add(values.clone());
    return current.arena.device.address + 4L * current.intOffsets[call];
  }

  /** Refuses what a graph cannot hold: reading results back to the host in the middle of a step. */
  void requireEager(String what) {
    if (mode != Mode.EAGER) {
      throw new Mismatch(what + " inside a replayable step");
    }
  }

  /**
   * Records {@code step} into a graph, or returns null (and leaves nothing behind: mode eager, no
   * arena, no graph) when any part of the capture fails, so that the caller runs it eagerly.
   */
  private Graph capture(Runnable step) {
    cuda.bind();
    Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    Arena fresh = new Arena(cuda);
    CUgraph_st graph = new CUgraph_st();
    CUgraphExec_st exec = null;
    boolean recorded = false;
    try {
      if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed) != cudaSuccess) {
        return null;
      }
      arena = fresh;
      begin(Mode.CAPTURE);
      try {
        step.run();
        recorded = true;
      } catch (Mismatch | CudaException e) {
        // Something in the step cannot be captured: it will run eagerly.
      } finally {
        mode = Mode.EAGER;
        recorded &= cudaStreamEndCapture(stream, graph) == cudaSuccess && !graph.isNull();
      }
      if (!recorded) {
        return null;
      }
      CUgraphExec_st instance = new CUgraphExec_st();
      if (cudaGraphInstantiate(instance, graph, 0L) != cudaSuccess) {
        return null;
      }
      exec = instance;
      int calls = intValues.size();
      int[] offsets = new int[calls];
      int[] sources = new int[calls];
      int[] lengths = new int[calls];
      for (int i = 0; i < calls; i++) {
        offsets[i] = intOffsets.get(i);
        sources[i] = intSources.get(i);
        lengths[i] = intValues.get(i).length;
      }
      return new Graph(
          exec, Arrays.copyOf(trace, traceLength), offsets, sources, lengths, arenaUsed, fresh);
    } finally {
      mode = Mode.EAGER;
      if (!graph.isNull()) {
        cudaGraphDestroy(graph);
      }
      if (exec == null) {
        fresh.free();
      }
      cudaGetLastError(); // a failed capture leaves an error behind that is not the next op's
      clearStep();
      arena = null;
    }
  }

  private boolean replay(Graph graph, Runnable step) {
    cuda.bind();
    // The arena's pinned block may still be feeding the last replay's copy.
    Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    current = graph;
    begin(Mode.REPLAY);
    try {
      step.run();
      if (traceLength != graph.trace.length || intValues.size() != graph.intOffsets.length) {
        throw new Mismatch("the step made fewer launches than its recording");
      }
    } catch (Mismatch e) {
      return false;
    } finally {
      mode = Mode.EAGER;
      clearStep();
      current = null;
    }
    launch(graph);
    return true;
  }

  private void launch(Graph graph) {
    Cuda.check(
        cudaMemcpyAsync(
            CudaTensor.at(graph.arena.device.address),
            graph.arena.host.position(0),
            4L * Math.max(1, graph.arenaUsed),
            cudaMemcpyHostToDevice,
            stream),
        "cudaMemcpyAsync of a graph's host ints");
    Cuda.check(cudaGraphLaunch(graph.exec, stream), "cudaGraphLaunch");
  }

  private void begin(Mode m) {
    clearStep();
    mode = m;
  }

  private void clearStep() {
    traceLength = 0;
    arenaUsed = 0;
    intValues.clear();
    intOffsets.clear();
    intSources.clear();
  }

  private void destroy(Graph graph) {
    cudaGraphExecDestroy(graph.exec);
    graph.arena.free();
  }
}
