package rl.cuda;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.*;

import java.nio.file.Path;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import rl.core.tensor.AttentionBatch;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * {@link Ops} on an NVIDIA GPU: matrix products through cuBLAS, every other kernel CUDA C from
 * {@code kernels.cu} compiled by NVRTC for the GPU present. Activations, LoRA tensors, gradients
 * and optimizer state are float32; norms and log-sum-exps accumulate in double like {@link
 * rl.core.tensor.Nd4jOps}, so the two agree to float32 rounding.
 *
 * <p>Precision ({@code -Drl.cuda.precision}): in {@code bf16} (the default) base weights ({@link
 * #uploadWeight}) and KV caches ({@link #zerosCache}) are stored as bfloat16, and a product with a
 * bf16 operand runs on tensor cores (bf16 inputs, float32 accumulation and output), its float32
 * operand rounded to bf16 on the way in, as a bf16 PyTorch model does. In {@code fp32} everything
 * is float32 and agrees with Nd4jOps to float32 rounding.
 *
 * <p>Calls are serialised (one model's compute thread at a time). Kernels and products run on one
 * stream of this object's, which the legacy default stream of the host copies waits for, so host
 * reads ({@link #download}, {@link #targetLogprobs}) see the kernels before them. {@link
 * #replayable} steps become CUDA graphs ({@link StepGraphs}; {@code -Drl.cuda.graphs=false} turns
 * that off).
 */
public final class CudaOps implements Ops {
  private static final int BLOCK = 256;

  /**
   * Cap on the logits scratch of the output head, in floats (1 GiB): chunks of about 1,800 rows
   * over a 150k vocabulary keep the head's products and kernels busy (64 MiB chunks of 110 rows
   * left most of the GPU idle).
   */
  static final int LOGITS_CHUNK_FLOATS = 1 << 28;

  /** Threads per row of the output-head kernels (kernels.cu's HEAD_THREADS). */
  private static final int HEAD_THREADS = 1024;

  private final Cuda cuda;
  private final Kernels kernels;
  private final cublasContext blas = new cublasContext();
  private final FloatPointer alphaHost = new FloatPointer(1);
  private final FloatPointer betaHost = new FloatPointer(1);
  private final String math;
  private final boolean bf16;
  private final CUstream_st stream = new CUstream_st();
  private final StepGraphs graphs;
  private final boolean graphsOn;

  /** cuBLAS's workspace, fixed so that products can be captured into graphs. */
  private final CudaTensor.Allocation blasWorkspace;

  static final long BLAS_WORKSPACE_BYTES = 32L << 20;

  /** Reusable device scratch: one double (sums of squares). */
  private CudaTensor.Allocation doubleScratch;

  private CudaTensor logitsScratch;

  public CudaOps(Cuda cuda) {
    this(cuda, Kernels.defaultCacheDir());
  }

  public CudaOps(Cuda cuda, Path kernelCache) {
    this(cuda, kernelCache, configuredPrecision());
  }

  /** With an explicit storage precision, {@code bf16} or {@code fp32}. */
  public CudaOps(Cuda cuda, Path kernelCache, String precision) {
    this.cuda = cuda;
    this.bf16 =
        switch (precision) {
          case "bf16" -> true;
          case "fp32" -> false;
          default ->
              throw new IllegalArgumentException(
                  "rl.cuda.precision: '" + precision + "' is unknown, expected bf16 or fp32");
        };
    this.kernels = new Kernels(cuda, kernelCache);
    cuda.bind();
    checkBlas(cublasCreate_v2(blas), "cublasCreate");
    math = configuredMath();
    int mode =
        switch (math) {
          // Float32 products stay exact float32 in the default mode; it lets bf16 ones use tensor
          // cores, which the pedantic mode would not.
          case "fp32" -> CUBLAS_DEFAULT_MATH;
          case "tf32" -> CUBLAS_TF32_TENSOR_OP_MATH;
          default ->
              throw new IllegalArgumentException(
                  "rl.cuda.math: '" + math + "' is unknown, expected fp32 or tf32");
        };
    checkBlas(cublasSetMathMode(blas, mode), "cublasSetMathMode");
    Cuda.check(cudaStreamCreate(stream), "cudaStreamCreate");
    checkBlas(cublasSetStream_v2(blas, stream), "cublasSetStream");
    blasWorkspace = CudaTensor.Allocation.allocate(cuda, BLAS_WORKSPACE_BYTES);
    checkBlas(
        cublasSetWorkspace_v2(blas, CudaTensor.at(blasWorkspace.address), BLAS_WORKSPACE_BYTES),
        "cublasSetWorkspace");
    graphs = new StepGraphs(cuda, stream);
    kernels.use(stream, graphs);
    graphsOn = !"false".equals(System.getProperty("rl.cuda.graphs", "true"));
  }

  @Override
  public synchronized void replayable(Object key, Runnable step) {
    if (graphsOn) {
      graphs.run(key, step);
    } else {
      step.run();
    }
  }

  StepGraphs stepGraphs() {
    return graphs;
  }

  /** How many steps were captured as CUDA graphs, replayed, or run eagerly instead. */
  public synchronized String graphStats() {
    return graphsOn ? graphs.stats() : "CUDA graphs off";
  }

  /**
   * The matrix-product precision, from {@code -Drl.cuda.math}: {@code fp32} (default; exact
   * float32, what the conformance tests hold) or {@code tf32} (tensor cores with 10-bit mantissa
   * inputs, about 1e-3 relative per product: faster, and outside the float32 tolerances).
   */
  public String math() {
    return math;
  }

  /** The storage precision of base weights and KV caches: {@code bf16} or {@code fp32}. */
  public String precision() {
    return bf16 ? "bf16" : "fp32";
  }

  /** The precision {@code -Drl.cuda.precision} asks for, {@code bf16} by default. */
  static String configuredPrecision() {
    return System.getProperty("rl.cuda.precision", "bf16");
  }

  /** The precision {@code -Drl.cuda.math} asks for, {@code fp32} by default. */
  static String configuredMath() {
    return System.getProperty("rl.cuda.math", "fp32");
  }

  public Cuda cuda() {
    return cuda;
  }

  /** How the kernels were obtained (NVRTC's log, or the cache file), and the GEMM precision. */
  public String kernelLog() {
    return kernels.log()
        + "; weights and KV caches "
        + precision()
        + "; float32 matrix products "
        + math;
  }

  /** A synchronous copy of {@code bytes} from host memory to the device; {@code what} names it. */
  private static void toDevice(long deviceAddress, Pointer host, long bytes, String what) {
    Cuda.check(
        cudaMemcpy(CudaTensor.at(deviceAddress), host, bytes, cudaMemcpyHostToDevice),
        "cudaMemcpy of " + what + " to the device");
  }

  /** A synchronous copy of {@code bytes} from the device to host memory. */
  private static void toHost(Pointer host, long deviceAddress, long bytes, String what) {
    Cuda.check(
        cudaMemcpy(host, CudaTensor.at(deviceAddress), bytes, cudaMemcpyDeviceToHost),
        "cudaMemcpy of " + what + " to the host");
  }

  /** A float32 tensor; a bf16 one is refused with its shape, for ops that have no bf16 form. */
  // First words of the graph signatures of the calls that are not kernels of kernels.cu.
  private static final long COPY_TAG = 1;

  private static final long SGEMM_TAG = 2;
  private static final long GEMM_BF16_TAG = 3;

  private static CudaTensor t(Tensor tensor) {
    CudaTensor x = (CudaTensor) tensor;
    if (x.bf16) {
      throw new IllegalArgumentException(
          x
              + " holds bfloat16 (a base weight or KV cache); this operation needs float32."
              + " Run with -Drl.cuda.precision=fp32 to keep everything float32");
    }
    return x;
  }

  /** A tensor of either precision, for the ops that read or write bf16 storage. */
  private static CudaTensor any(Tensor tensor) {
    return (CudaTensor) tensor;
  }

  private static void checkBlas(int status, String what) {
    if (status != CUBLAS_STATUS_SUCCESS) {
      throw new CudaException(what + " failed: " + cublasGetStatusString(status).getString());
    }
  }

  // ---- memory ----

  /**
   * Device scratch kept under {@code name} and grown to at least {@code bytes} (64 KiB at least) on
   * demand: an unchanged size keeps its address (which recorded graphs rely on). Contents are
   * undefined.
   */
  private long scratch(String name, long bytes) {
    return scratchAllocation(name, bytes).address;
  }

  private CudaTensor.Allocation scratchAllocation(String name, long bytes) {
    CudaTensor.Allocation a = scratchByName.get(name);
    if (a == null || a.bytes < bytes) {
      scratchByName.remove(name);
      a = CudaTensor.Allocation.allocate(cuda, Math.max(bytes, 1 << 16));
      scratchByName.put(name, a);
    }
    return a;
  }

  private final java.util.Map<String, CudaTensor.Allocation> scratchByName =
      new java.util.HashMap<>();

  /**
   * A [rows, cols] scratch tensor: {@code current} while it has those columns and at least those
   * rows, else a new one (float32 zeros, or uninitialised bf16 with {@code halves}).
   */
  private CudaTensor reusable(CudaTensor current, int rows, int cols, boolean halves) {
    if (current != null && current.cols() == cols && current.rows() >= rows) {
      return current;
    }
    return allocate(rows, cols, halves, !halves);
  }

  /** A new device tensor of float32 or bf16 elements; zero-filled when asked. */
  private CudaTensor allocate(int rows, int cols, boolean halves, boolean zeroed) {
    long bytes = (halves ? 2L : 4L) * rows * cols;
    CudaTensor t =
        new CudaTensor(CudaTensor.Allocation.allocate(cuda, bytes), 0, rows, cols, halves);
    if (zeroed) {
      Cuda.check(cudaMemset(CudaTensor.at(t.address()), 0, bytes), "cudaMemset");
    }
    return t;
  }

  private static void requireLength(float[] data, int rows, int cols, String what) {
    if (data.length != (long) rows * cols) {
      throw new IllegalArgumentException(
          data.length + " values for a [" + rows + ", " + cols + "] " + what);
    }
  }

  @Override
  public synchronized Tensor zeros(int rows, int cols) {
    graphs.requireEager("zeros");
    return allocate(rows, cols, false, true);
  }

  @Override
  public synchronized Tensor upload(float[] data, int rows, int cols) {
    graphs.requireEager("upload");
    requireLength(data, rows, cols, "tensor");
    CudaTensor t = allocate(rows, cols, false, false);
    write(t, data);
    return t;
  }

  @Override
  public synchronized Tensor uploadWeight(float[] data, int rows, int cols) {
    graphs.requireEager("uploadWeight");
    requireLength(data, rows, cols, "weight");
    CudaTensor t = allocate(rows, cols, bf16, false);
    write(t, data);
    return t;
  }

  @Override
  public synchronized Tensor zerosCache(int rows, int cols) {
    graphs.requireEager("zerosCache");
    return allocate(rows, cols, bf16, true);
  }

  @Override
  public synchronized void write(Tensor dst, float[] data) {
    graphs.requireEager("write");
    CudaTensor to = any(dst);
    if (data.length != to.size()) {
      throw new IllegalArgumentException(
          data.length + " values for " + to + " (expected " + to.size() + ")");
    }
    if (data.length == 0) {
      return;
    }
    cuda.bind();
    if (to.bf16) {
      short[] halves = new short[data.length];
      for (int i = 0; i < data.length; i++) {
        halves[i] = toBf16(data[i]);
      }
      try (ShortPointer host = new ShortPointer(halves)) {
        toDevice(to.address(), host, 2L * data.length, "bf16 tensor");
      }
      return;
    }
    try (FloatPointer host = new FloatPointer(data)) {
      toDevice(to.address(), host, 4L * data.length, "tensor");
    }
  }

  @Override
  public boolean reducedPrecision(Tensor tensor) {
    return any(tensor).bf16;
  }

  /** float32 → bfloat16 bits, rounding to nearest even (the kernels' float_to_bf16). */
  static short toBf16(float f) {
    int u = Float.floatToRawIntBits(f);
    if ((u & 0x7fffffff) > 0x7f800000) {
      return (short) ((u >>> 16) | 0x40); // NaN stays NaN
    }
    u += 0x7fff + ((u >>> 16) & 1);
    return (short) (u >>> 16);
  }

  static float fromBf16(short h) {
    return Float.intBitsToFloat((h & 0xffff) << 16);
  }

  @Override
  public synchronized float[] download(Tensor tensor) {
    graphs.requireEager("download");
    CudaTensor x = any(tensor);
    float[] out = new float[Math.toIntExact(x.size())];
    if (out.length == 0) {
      return out;
    }
    cuda.bind();
    if (x.bf16) {
      short[] halves = new short[out.length];
      try (ShortPointer host = new ShortPointer(out.length)) {
        toHost(host, x.address(), 2L * out.length, "bf16 tensor");
        host.get(halves);
      }
      for (int i = 0; i < out.length; i++) {
        out[i] = fromBf16(halves[i]);
      }
      return out;
    }
    try (FloatPointer host = new FloatPointer(out.length)) {
      toHost(host, x.address(), 4L * out.length, "tensor");
      host.get(out);
    }
    return out;
  }

  @Override
  public Tensor rows(Tensor tensor, int start, int count) {
    if (start < 0 || count < 0 || start + count > tensor.rows()) {
      throw new IndexOutOfBoundsException(
          "rows [" + start + ", " + (start + count) + ") of " + tensor.shapeString());
    }
    CudaTensor x = any(tensor);
    return new CudaTensor(
        x.allocation,
        x.offset + (long) x.elementBytes() * start * x.cols(),
        count,
        x.cols(),
        x.bf16);
  }

  @Override
  public synchronized void fill(Tensor tensor, float value) {
    long n = tensor.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "fill_f32",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(tensor)).i64(n).f32(value));
  }

  @Override
  public synchronized void copy(Tensor dst, Tensor src) {
    Tensor.requireShape("copy destination", dst, src.rows(), src.cols());
    CudaTensor to = any(dst);
    CudaTensor from = any(src);
    long n = src.size();
    if (n == 0) {
      return;
    }
    if (to.bf16 != from.bf16) {
      kernels.launch(
          to.bf16 ? "to_bf16" : "bf16_to_f32",
          Kernels.gridFor(n, BLOCK),
          1,
          1,
          BLOCK,
          0,
          kernels.args().ptr(to).ptr(from).i64(n));
      return;
    }
    cuda.bind();
    long bytes = (long) from.elementBytes() * n;
    if (!graphs.admit(COPY_TAG, to.address(), from.address(), bytes)) {
      return;
    }
    Cuda.check(
        cudaMemcpyAsync(
            CudaTensor.at(to.address()),
            CudaTensor.at(from.address()),
            bytes,
            cudaMemcpyDeviceToDevice,
            stream),
        "cudaMemcpyAsync device to device");
  }

  /**
   * One kernel for all float32 pairs (a table of {dst, src, count} read by copy_all), so an adapter
   * sync of hundreds of small tensors costs one table upload and one launch; pairs involving bf16
   * go through {@link #copy}.
   */
  @Override
  public synchronized void copyAll(java.util.List<Tensor> dst, java.util.List<Tensor> src) {
    graphs.requireEager("copyAll");
    CopyTable copies = CopyTable.of("copyAll", this, dst, src);
    copies.launch(this, copies.entries == 0 ? 0 : ints(copies.table));
  }

  /** The same copies with their table uploaded once, into memory the plan owns. */
  @Override
  public synchronized CopyPlan planCopies(java.util.List<Tensor> dst, java.util.List<Tensor> src) {
    CopyTable copies = CopyTable.of("planCopies", this, dst, src);
    CudaTensor.Allocation table =
        CudaTensor.Allocation.allocate(cuda, 4L * Math.max(1, copies.table.length));
    if (copies.entries > 0) {
      try (IntPointer host = new IntPointer(copies.table)) {
        toDevice(table.address, host, 4L * copies.table.length, "copy table");
      }
    }
    return new PlannedCopies(
        this, copies, table, java.util.List.copyOf(dst), java.util.List.copyOf(src));
  }

  /**
   * A plan of {@link #planCopies}: the table in device memory, and the tensors it names (held, so
   * that their memory lives as long as the plan that writes and reads it).
   */
  private record PlannedCopies(
      CudaOps ops,
      CopyTable copies,
      CudaTensor.Allocation table,
      java.util.List<Tensor> destinations,
      java.util.List<Tensor> sources)
      implements CopyPlan {
    @Override
    public void run() {
      synchronized (ops) {
        ops.graphs.requireEager("a planned copy");
        copies.launch(ops, table.address);
      }
    }
  }

  /**
   * The float32 pairs of a set of copies as copy_all's table (three 64-bit words a pair: dst, src,
   * count, each as two ints), and the pairs involving bf16, which {@link #copy} converts.
   */
  private record CopyTable(
      int[] table, int entries, long longest, java.util.List<Tensor[]> converting) {
    static CopyTable of(
        String caller, CudaOps ops, java.util.List<Tensor> dst, java.util.List<Tensor> src) {
      if (dst.size() != src.size()) {
        throw new IllegalArgumentException(
            caller + ": " + dst.size() + " destinations for " + src.size() + " sources");
      }
      int[] table = new int[6 * dst.size()];
      int entries = 0;
      long longest = 0;
      java.util.List<Tensor[]> converting = new java.util.ArrayList<>();
      for (int i = 0; i < dst.size(); i++) {
        Tensor d = dst.get(i);
        Tensor s = src.get(i);
        if (d.rows() != s.rows() || d.cols() != s.cols()) {
          Tensor.requireShape(caller + " destination " + i, d, s.rows(), s.cols());
        }
        CudaTensor to = any(d);
        CudaTensor from = any(s);
        if (to.bf16 || from.bf16) {
          converting.add(new Tensor[] {d, s});
          continue;
        }
        long n = from.size();
        if (n == 0) {
          continue;
        }
        long[] entry = {to.address(), from.address(), n};
        for (int w = 0; w < 3; w++) {
          table[6 * entries + 2 * w] = (int) entry[w];
          table[6 * entries + 2 * w + 1] = (int) (entry[w] >>> 32);
        }
        entries++;
        longest = Math.max(longest, n);
      }
      return new CopyTable(
          java.util.Arrays.copyOf(table, 6 * entries), entries, longest, converting);
    }

    /** Launches copy_all over the table at {@code tableAddress} (device memory), then the rest. */
    void launch(CudaOps ops, long tableAddress) {
      for (int first = 0; first < entries; first += MAX_GRID_Y) {
        int count = Math.min(MAX_GRID_Y, entries - first);
        ops.kernels.launch(
            "copy_all",
            Math.min(Kernels.gridFor(longest, BLOCK), 64),
            count,
            1,
            BLOCK,
            0,
            ops.kernels.args().ptr(tableAddress + 24L * first));
      }
      for (Tensor[] pair : converting) {
        ops.copy(pair[0], pair[1]);
      }
    }
  }

  /** The most blocks a launch may have along y (CUDA's limit). */
  private static final int MAX_GRID_Y = 65_535;

  /** Views into one uninitialised allocation, each float32 tensor 256-byte aligned. */
  @Override
  public synchronized java.util.List<Tensor> allocateLike(java.util.List<Tensor> like) {
    long[] offsets = new long[like.size()];
    long bytes = 0;
    for (int i = 0; i < like.size(); i++) {
      offsets[i] = bytes;
      bytes += (4L * like.get(i).size() + 255) / 256 * 256;
    }
    CudaTensor.Allocation memory = CudaTensor.Allocation.allocate(cuda, Math.max(bytes, 256));
    java.util.List<Tensor> out = new java.util.ArrayList<>(like.size());
    for (int i = 0; i < like.size(); i++) {
      Tensor t = like.get(i);
      out.add(new CudaTensor(memory, offsets[i], t.rows(), t.cols(), false));
    }
    return out;
  }

  @Override
  public synchronized void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
    for (int r : dstRows) {
      if (r < 0 || r >= dst.rows()) {
        throw new IndexOutOfBoundsException("row " + r + " of " + dst.shapeString());
      }
    }
    long total = (long) dstRows.length * src.cols();
    if (total == 0) {
      return;
    }
    long rows = ints(dstRows);
    CudaTensor to = any(dst);
    kernels.launch(
        to.bf16 ? "scatter_rows_bf16" : "scatter_rows",
        Kernels.gridFor(total, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(to).ptr(rows).ptr(t(src)).i64(total).i32(src.cols()));
  }

  /** An int array on the device and the host copy it was made from. */
  private static final class IntUpload {
    int[] values = new int[0];
    CudaTensor.Allocation memory;
    long lastUse;
  }

  private final IntUpload[] intUploads = {new IntUpload(), new IntUpload(), new IntUpload()};
  private long uploadClock;

  /**
   * {@code values} on the device; returns its address. The layers of one step pass the same
   * positions and batch layout again and again: an array equal to one of the last three uploads is
   * not copied again. That matters beyond the copy itself: a copy from pageable host memory waits
   * for the GPU to drain, so one per layer would keep host and GPU from overlapping.
   */
  private long ints(int[] values) {
    if (graphs.mode() != StepGraphs.Mode.EAGER) {
      return graphs.ints(values);
    }
    uploadClock++;
    IntUpload oldest = intUploads[0];
    for (IntUpload u : intUploads) {
      if (u.memory != null && java.util.Arrays.equals(u.values, values)) {
        u.lastUse = uploadClock;
        return u.memory.address;
      }
      if (u.lastUse < oldest.lastUse) {
        oldest = u;
      }
    }
    long bytes = 4L * Math.max(1, values.length);
    if (oldest.memory == null || oldest.memory.bytes < bytes) {
      oldest.memory = CudaTensor.Allocation.allocate(cuda, Math.max(bytes, 1 << 16));
    }
    if (values.length > 0) {
      try (IntPointer host = new IntPointer(values)) {
        toDevice(oldest.memory.address, host, 4L * values.length, "int array");
      }
    }
    oldest.values = values.clone();
    oldest.lastUse = uploadClock;
    return oldest.memory.address;
  }

  // ---- linear algebra ----

  @Override
  public synchronized void gemm(
      Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float alpha, float beta) {
    Tensor.requireProductShapes(
        a.rows(), a.cols(), transA, b.rows(), b.cols(), transB, out.rows(), out.cols());
    int m = out.rows();
    int n = out.cols();
    int k = transA ? a.rows() : a.cols();
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      if (beta == 0) {
        fill(out, 0);
      } else {
        axpy(out, out, beta - 1);
      }
      return;
    }
    cuda.bind();
    alphaHost.put(0, alpha);
    betaHost.put(0, beta);
    if (any(a).bf16 || any(b).bf16 || any(out).bf16) {
      gemmBf16(out, a, transA, b, transB, m, n, k);
      return;
    }
    if (!graphs.admit(
        SGEMM_TAG,
        transA ? 1 : 0,
        transB ? 1 : 0,
        m,
        n,
        k,
        Float.floatToRawIntBits(alpha),
        Float.floatToRawIntBits(beta),
        t(a).address(),
        t(b).address(),
        t(out).address())) {
      return;
    }
    // Row-major out = op(a)·op(b) is column-major outᵀ = op(b)ᵀ·op(a)ᵀ: swap the operands.
    checkBlas(
        cublasSgemm_v2(
            blas,
            transB ? CUBLAS_OP_T : CUBLAS_OP_N,
            transA ? CUBLAS_OP_T : CUBLAS_OP_N,
            n,
            m,
            k,
            alphaHost,
            t(b).floats(),
            b.cols(),
            t(a).floats(),
            a.cols(),
            betaHost,
            t(out).floats(),
            out.cols()),
        "cublasSgemm");
  }

  @Override
  public synchronized Tensor productOperand(Tensor x) {
    CudaTensor t = any(x);
    if (!bf16 || t.bf16 || t.size() == 0) {
      return x;
    }
    CudaTensor converted = threadOperand("shared product operand", t);
    copy(converted, t); // rounds to bf16
    return converted;
  }

  /**
   * A bf16 scratch tensor shaped like {@code like}, kept under {@code purpose} for the calling
   * thread: the copy outlives the call that fills it (the products that read it are later calls),
   * and the sampler's and the learner's threads share this CudaOps.
   */
  private CudaTensor threadOperand(String purpose, Tensor like) {
    return new CudaTensor(
        scratchAllocation(
            purpose + ", thread " + Thread.currentThread().threadId(), 2L * like.size()),
        0,
        like.rows(),
        like.cols(),
        true);
  }

  /** Scratch names of float32 operands rounded to bf16, one per operand slot. */
  private static final String[] BF16_OPERAND = {"bf16 operand a", "bf16 operand b"};

  /** The operand as bf16: itself, or a rounded copy in scratch {@code slot}. */
  private long asBf16(Tensor operand, int slot) {
    CudaTensor x = any(operand);
    if (x.bf16) {
      return x.address();
    }
    CudaTensor rounded =
        new CudaTensor(
            scratchAllocation(BF16_OPERAND[slot], Math.max(2L * x.size(), 1 << 20)),
            0,
            x.rows(),
            x.cols(),
            true);
    copy(rounded, x); // rounds to bf16
    return rounded.address();
  }

  /**
   * A product with a bf16 operand: tensor cores, bf16 inputs, float32 accumulation; the output
   * keeps its own precision (float32 activations; a bf16 weight when merging an adapter).
   */
  private void gemmBf16(
      Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, int m, int n, int k) {
    long aBits = asBf16(a, 0);
    long bBits = asBf16(b, 1);
    CudaTensor c = any(out);
    if (!graphs.admit(
        GEMM_BF16_TAG,
        transA ? 1 : 0,
        transB ? 1 : 0,
        m,
        n,
        k,
        Float.floatToRawIntBits(alphaHost.get(0)),
        Float.floatToRawIntBits(betaHost.get(0)),
        aBits,
        bBits,
        c.address(),
        c.bf16 ? 1 : 0)) {
      return;
    }
    checkBlas(
        cublasGemmEx(
            blas,
            transB ? CUBLAS_OP_T : CUBLAS_OP_N,
            transA ? CUBLAS_OP_T : CUBLAS_OP_N,
            n,
            m,
            k,
            alphaHost,
            CudaTensor.at(bBits),
            CUDA_R_16BF,
            b.cols(),
            CudaTensor.at(aBits),
            CUDA_R_16BF,
            a.cols(),
            betaHost,
            CudaTensor.at(c.address()),
            c.bf16 ? CUDA_R_16BF : CUDA_R_32F,
            out.cols(),
            CUBLAS_COMPUTE_32F,
            CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (bf16)");
  }

  @Override
  public synchronized void add(Tensor out, Tensor a, Tensor b) {
    Tensor.requireShape("add output", out, a.rows(), a.cols());
    Tensor.requireShape("add operand", b, a.rows(), a.cols());
    long n = a.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "add_f32",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(out)).ptr(t(a)).ptr(t(b)).i64(n));
  }

  /** The largest LoRA rank the fused adapter kernel takes (its shared buffer). */
  static final int LORA_MAX_RANK = 64;

  /** Threads per block and outputs per block of the fused adapter kernel (kernels.cu's). */
  static final int LORA_THREADS = 128;

  static final int LORA_COLUMNS = 512;

  @Override
  public synchronized void loraForward(
      Tensor y, Tensor u, Tensor x, Tensor a, Tensor b, float scale) {
    int rank = a.rows();
    Tensor.requireShape("LoRA B", b, y.cols(), rank);
    Tensor.requireShape("LoRA A", a, rank, x.cols());
    Tensor.requireShape("LoRA u", u, x.rows(), rank);
    Tensor.requireShape("LoRA output", y, x.rows(), b.rows());
    if (rank > LORA_MAX_RANK) {
      Ops.super.loraForward(y, u, x, a, b, scale);
      return;
    }
    if (x.rows() == 0) {
      return;
    }
    if (x.rows() >= loraSplitRows
        && y.cols() > 0
        && y.cols() % 4 == 0
        && t(y).address() % 16 == 0) {
      launchLoraDownUp(y, u, x, a, b, scale);
      return;
    }
    int chunks = (y.cols() + LORA_COLUMNS - 1) / LORA_COLUMNS;
    // Fused for few rows (decode: one launch); for many rows over wide outputs the chunks' repeated
    // dot products would read x again per chunk, so u is formed once and the update reads it.
    boolean twoPass = x.rows() >= LORA_TWO_PASS_ROWS && chunks > 2;
    if (twoPass) {
      launchLora(y, u, x, a, b, scale, 1, 1);
      launchLora(y, u, x, a, b, scale, chunks, 2);
    } else {
      launchLora(y, u, x, a, b, scale, chunks, 0);
    }
  }

  /**
   * Whether a rank-1 adapter's backward runs as CudaOps' two fused kernels ({@code
   * -Drl.cuda.loraBackward=fused}, the default: 2-4% faster learner steps on the H100 than the
   * products) or as four cuBLAS products ({@code products}).
   */
  private boolean fusedLoraBackward =
      !"products".equals(System.getProperty("rl.cuda.loraBackward", "fused"));

  /** Chooses the rank-1 adapter backward for tests, whatever the property says. */
  void useFusedLoraBackward(boolean fused) {
    this.fusedLoraBackward = fused;
  }

  /** Rows per block and threads of the rank-1 adapter backward kernels (kernels.cu's). */
  static final int LORA_BACKWARD_ROWS = 64;

  static final int LORA_BACKWARD_THREADS = 256;

  @Override
  public synchronized void loraBackward(
      Tensor dx,
      Tensor du,
      Tensor dA,
      Tensor dB,
      Tensor dy,
      Tensor x,
      Tensor u,
      Tensor a,
      Tensor b,
      float scale) {
    int rank = a.rows();
    boolean float32 =
        !any(dy).bf16
            && !any(x).bf16
            && !any(a).bf16
            && !any(b).bf16
            && (dx == null || !any(dx).bf16);
    if (rank != 1 || !float32 || !fusedLoraBackward) {
      Ops.super.loraBackward(dx, du, dA, dB, dy, x, u, a, b, scale);
      return;
    }
    int n = dy.rows();
    Tensor.requireShape("LoRA backward du", du, n, 1);
    Tensor.requireShape("LoRA backward u", u, n, 1);
    Tensor.requireShape("LoRA backward x", x, n, a.cols());
    Tensor.requireShape("LoRA B", b, dy.cols(), 1);
    if (dx != null) {
      Tensor.requireShape("LoRA backward dx", dx, n, a.cols());
    }
    if (dA != null) {
      Tensor.requireShape("LoRA backward dA", dA, 1, a.cols());
    }
    if (dB != null) {
      Tensor.requireShape("LoRA backward dB", dB, dy.cols(), 1);
    }
    if (n == 0) {
      return;
    }
    int blocks = (n + LORA_BACKWARD_ROWS - 1) / LORA_BACKWARD_ROWS;
    fill(du, 0f); // the kernel adds each column chunk's share
    kernels.launch(
        "lora_backward_dy",
        blocks,
        (dy.cols() + LORA_BACKWARD_THREADS - 1) / LORA_BACKWARD_THREADS,
        1,
        LORA_BACKWARD_THREADS,
        0,
        kernels
            .args()
            .ptr(t(du))
            .ptr(dB == null ? 0L : t(dB).address())
            .ptr(t(dy))
            .ptr(t(u))
            .ptr(t(b))
            .i32(n)
            .i32(dy.cols())
            .f32(scale));
    if (dx == null && dA == null) {
      return;
    }
    kernels.launch(
        "lora_backward_x",
        blocks,
        (a.cols() + LORA_BACKWARD_THREADS - 1) / LORA_BACKWARD_THREADS,
        1,
        LORA_BACKWARD_THREADS,
        0,
        kernels
            .args()
            .ptr(dx == null ? 0L : t(dx).address())
            .ptr(dA == null ? 0L : t(dA).address())
            .ptr(t(du))
            .ptr(t(x))
            .ptr(t(a))
            .i32(n)
            .i32(a.cols()));
  }

  /**
   * Rows from which the fused adapter kernel runs in two passes (see kernels.cu's lora_forward),
   * and from which u is formed by a warp per row (lora_down) rather than a block per row.
   */
  static final int LORA_TWO_PASS_ROWS = 1024;

  /**
   * From how many rows {@link #loraForward} runs as two kernels, u then y (each operand read once,
   * the output four floats at a time; where the output width is a multiple of 4 and its rows are
   * 16-byte aligned), instead of the one lora_forward kernel (a block per row and 512 outputs, each
   * forming u itself). By default for every row count: from 1,024 rows u is formed by a warp per
   * row (lora_down; 2.8% faster learner steps on the H100's 1B shape), below by a block per row
   * (lora_down_rows, decode). {@code -Drl.cuda.loraForward=fused} keeps the one kernel everywhere,
   * {@code fused-decode} below 1,024 rows (the previous default). Only o and down take this path in
   * the model: q, k, v, gate and up get their u from the norm before them ({@link
   * #rmsnormForProduct}) and add their output term with {@link #loraUp}.
   */
  private int loraSplitRows =
      switch (System.getProperty("rl.cuda.loraForward", "auto")) {
        case "fused" -> Integer.MAX_VALUE;
        case "fused-decode" -> LORA_TWO_PASS_ROWS;
        default -> 0;
      };

  /** For tests: the split adapter forward from {@code rows} rows on, whatever the property says. */
  synchronized void useSplitLoraForwardFrom(int rows) {
    loraSplitRows = rows;
  }

  /** Warps (rows) per block of lora_down. */
  private static final int LORA_DOWN_ROWS = 8;

  /** Threads per row of lora_down_rows (kernels.cu's LORA_DOWN_THREADS). */
  private static final int LORA_DOWN_THREADS = 256;

  private void launchLoraDownUp(Tensor y, Tensor u, Tensor x, Tensor a, Tensor b, float scale) {
    launchLoraDown(u, x, a);
    launchLoraUp(y, u, b, scale);
  }

  /** u [N, r] = x · Aᵀ: a warp per row from 1,024 rows, a block per row below. */
  private void launchLoraDown(Tensor u, Tensor x, Tensor a) {
    int rows = x.rows();
    if (rows == 0) {
      return;
    }
    if (rows >= LORA_TWO_PASS_ROWS) {
      kernels.launch(
          "lora_down",
          (rows + LORA_DOWN_ROWS - 1) / LORA_DOWN_ROWS,
          1,
          1,
          32 * LORA_DOWN_ROWS,
          0,
          kernels.args().ptr(t(u)).ptr(t(x)).ptr(t(a)).i32(rows).i32(x.cols()).i32(a.rows()));
    } else {
      boolean vec4 = x.cols() % 4 == 0 && t(x).address() % 16 == 0 && t(a).address() % 16 == 0;
      kernels.launch(
          "lora_down_rows",
          rows,
          1,
          1,
          LORA_DOWN_THREADS,
          0,
          kernels
              .args()
              .ptr(t(u))
              .ptr(t(x))
              .ptr(t(a))
              .i32(x.cols())
              .i32(a.rows())
              .i32(vec4 ? 1 : 0));
    }
  }

  /** y [N, out] += scale · u · Bᵀ, four outputs a thread (out a multiple of 4, 16-byte rows). */
  private void launchLoraUp(Tensor y, Tensor u, Tensor b, float scale) {
    int rows = y.rows();
    int quads = y.cols() / 4;
    if (rows == 0 || quads == 0) {
      return;
    }
    kernels.launch(
        "lora_up",
        (quads + BLOCK - 1) / BLOCK,
        Math.min(rows, 65_535),
        1,
        Math.min(BLOCK, quads),
        0,
        kernels
            .args()
            .ptr(t(y))
            .ptr(t(u))
            .ptr(t(b))
            .i32(rows)
            .i32(y.cols())
            .i32(b.cols())
            .f32(scale));
  }

  @Override
  public synchronized void loraUp(Tensor y, Tensor u, Tensor b, float scale) {
    int rank = b.cols();
    Tensor.requireShape("LoRA u", u, y.rows(), rank);
    Tensor.requireShape("LoRA B", b, y.cols(), rank);
    if (loraUpKernelFits(y, b)) {
      launchLoraUp(y, u, b, scale);
    } else {
      Ops.super.loraUp(y, u, b, scale);
    }
  }

  /** Whether lora_up takes this output: rank up to 64, outputs a multiple of 4, 16-byte rows. */
  private boolean loraUpKernelFits(Tensor y, Tensor b) {
    return b.cols() <= LORA_MAX_RANK && y.cols() % 4 == 0 && t(y).address() % 16 == 0;
  }

  /** Adapters lora_up_many takes in one launch. */
  private static final int LORA_UP_MANY = 3;

  @Override
  public synchronized void loraUps(
      java.util.List<Tensor> ys,
      java.util.List<Tensor> us,
      java.util.List<Tensor> bs,
      float[] scales) {
    int count = ys.size();
    boolean together =
        count >= 2
            && count <= LORA_UP_MANY
            && loraUpsTogether
            && us.size() == count
            && bs.size() == count
            && scales.length == count;
    for (int i = 0; i < count && together; i++) {
      Tensor y = ys.get(i);
      together =
          y.rows() == ys.get(0).rows()
              && y.rows() > 0
              && y.cols() > 0
              && loraUpKernelFits(y, bs.get(i));
    }
    if (!together) {
      Ops.super.loraUps(ys, us, bs, scales); // checks the counts; one launch each
      return;
    }
    int rows = ys.get(0).rows();
    int widest = 0;
    Kernels.Args args = kernels.args().i32(rows);
    for (int i = 0; i < LORA_UP_MANY; i++) {
      int at = Math.min(i, count - 1); // unused sets repeat the last (blockIdx.z never picks them)
      Tensor y = ys.get(at);
      Tensor u = us.get(at);
      Tensor b = bs.get(at);
      if (u.rows() != rows || u.cols() != b.cols() || b.rows() != y.cols()) {
        Tensor.requireShape("LoRA u " + at, u, rows, b.cols());
        Tensor.requireShape("LoRA B " + at, b, y.cols(), b.cols());
      }
      widest = Math.max(widest, y.cols() / 4);
      args.ptr(t(y)).ptr(t(u)).ptr(t(b)).i32(y.cols()).i32(b.cols()).f32(scales[at]);
    }
    kernels.launch(
        "lora_up_many",
        (widest + BLOCK - 1) / BLOCK,
        Math.min(rows, 65_535),
        count,
        Math.min(BLOCK, widest),
        0,
        args);
  }

  /**
   * Whether {@link #loraUps} launches once for its adapters ({@code -Drl.cuda.loraUps=together},
   * the default) or once each ({@code separate}).
   */
  private boolean loraUpsTogether =
      !"separate".equals(System.getProperty("rl.cuda.loraUps", "together"));

  /** Chooses {@link #loraUps}' launches for tests, whatever the property says. */
  synchronized void useLoraUpsTogether(boolean together) {
    loraUpsTogether = together;
  }

  /** Adapters whose first halves kernels.cu's norms form: rank 1, at most three. */
  private static final int NORM_ADAPTERS = 3;

  /**
   * The norm kernels' adapter arguments (count, three A pointers, three u pointers) when the norm
   * can form the adapters' u itself (one to three of rank 1; the callers' norms are whole-row),
   * else null: then the caller launches lora_down for each (if any).
   */
  private static long[] normAdapters(
      java.util.List<Tensor> loraA, java.util.List<Tensor> loraU, Tensor out) {
    if (loraA.size() != loraU.size()) {
      throw new IllegalArgumentException(
          "adapters reading one input: "
              + loraA.size()
              + " A tensors for "
              + loraU.size()
              + " outputs");
    }
    for (int i = 0; i < loraA.size(); i++) {
      Tensor a = loraA.get(i);
      Tensor u = loraU.get(i);
      if (a.cols() != out.cols() || u.rows() != out.rows() || u.cols() != a.rows()) {
        // (messages built only on failure: this runs for every layer of every decode step)
        Tensor.requireShape("LoRA A " + i, a, a.rows(), out.cols());
        Tensor.requireShape("LoRA u " + i, u, out.rows(), a.rows());
      }
    }
    if (loraA.isEmpty() || loraA.size() > NORM_ADAPTERS) {
      return null;
    }
    long[] args = new long[1 + 2 * NORM_ADAPTERS];
    for (int i = 0; i < loraA.size(); i++) {
      if (loraA.get(i).rows() != 1 || any(loraA.get(i)).bf16) {
        return null;
      }
      args[1 + i] = t(loraA.get(i)).address();
      args[1 + NORM_ADAPTERS + i] = t(loraU.get(i)).address();
    }
    args[0] = loraA.size();
    return args;
  }

  /** Adds the norm kernels' adapter arguments (none when {@code adapters} is null). */
  private static Kernels.Args withAdapters(Kernels.Args args, long[] adapters) {
    args.i32(adapters == null ? 0 : (int) adapters[0]);
    for (int i = 1; i < 1 + 2 * NORM_ADAPTERS; i++) {
      args.ptr(adapters == null ? 0L : adapters[i]);
    }
    return args;
  }

  /** The adapters' u the norm kernel did not form (all of them when {@code adapters} is null). */
  private void loraDownAfterNorm(
      long[] adapters, java.util.List<Tensor> loraA, java.util.List<Tensor> loraU, Tensor out) {
    if (adapters == null) {
      for (int i = 0; i < loraA.size(); i++) {
        if (loraA.get(i).rows() > LORA_MAX_RANK) {
          gemm(loraU.get(i), out, false, loraA.get(i), true, 1f, 0f); // as loraForward does
        } else {
          launchLoraDown(loraU.get(i), out, loraA.get(i));
        }
      }
    }
  }

  private void launchLora(
      Tensor y, Tensor u, Tensor x, Tensor a, Tensor b, float scale, int chunks, int phase) {
    kernels.launch(
        "lora_forward",
        x.rows(),
        chunks,
        1,
        LORA_THREADS,
        0,
        kernels
            .args()
            .ptr(t(y))
            .ptr(t(u))
            .ptr(t(x))
            .ptr(t(a))
            .ptr(t(b))
            .i32(x.cols())
            .i32(y.cols())
            .i32(a.rows())
            .f32(scale)
            .i32(phase));
  }

  @Override
  public synchronized void addRmsnorm(
      Tensor sum, Tensor out, Tensor rstd, Tensor a, Tensor b, Tensor weight, float eps) {
    launchAddRmsnorm(
        sum, out, null, rstd, a, b, weight, eps, java.util.List.of(), java.util.List.of());
  }

  @Override
  public synchronized Tensor addRmsnormForProduct(
      Tensor sum,
      Tensor out,
      Tensor rstd,
      Tensor a,
      Tensor b,
      Tensor weight,
      float eps,
      java.util.List<Tensor> loraA,
      java.util.List<Tensor> loraU) {
    CudaTensor copy = bf16 && out.size() > 0 ? threadOperand("add_rmsnorm output", out) : null;
    launchAddRmsnorm(sum, out, copy, rstd, a, b, weight, eps, loraA, loraU);
    return copy != null ? copy : out;
  }

  private void launchAddRmsnorm(
      Tensor sum,
      Tensor out,
      CudaTensor out16,
      Tensor rstd,
      Tensor a,
      Tensor b,
      Tensor weight,
      float eps,
      java.util.List<Tensor> loraA,
      java.util.List<Tensor> loraU) {
    int cols = a.cols();
    Tensor.requireShape("residual operand", b, a.rows(), cols);
    Tensor.requireShape("residual sum", sum, a.rows(), cols);
    Tensor.requireShape("rmsnorm output", out, a.rows(), cols);
    Tensor.requireShape("rmsnorm rstd", rstd, a.rows(), 1);
    Tensor.requireShape("rmsnorm weight", weight, 1, cols);
    if (a.rows() == 0) {
      return;
    }
    long[] adapters = normAdapters(loraA, loraU, out);
    kernels.launch(
        "add_rmsnorm",
        a.rows(),
        1,
        1,
        BLOCK,
        0,
        withAdapters(
            kernels
                .args()
                .ptr(t(sum))
                .ptr(t(out))
                .ptr(out16 == null ? 0L : out16.address())
                .ptr(t(rstd))
                .ptr(t(a))
                .ptr(t(b))
                .ptr(t(weight))
                .i32(cols)
                .f32(eps),
            adapters));
    loraDownAfterNorm(adapters, loraA, loraU, out);
  }

  @Override
  public synchronized void axpy(Tensor acc, Tensor x, float scale) {
    Tensor.requireShape("axpy accumulator", acc, x.rows(), x.cols());
    long n = x.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "axpy_f32",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(acc)).ptr(t(x)).i64(n).f32(scale));
  }

  @Override
  public synchronized void addBias(Tensor x, Tensor bias) {
    Tensor.requireShape("bias", bias, 1, x.cols());
    long n = x.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "add_bias",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(x)).ptr(t(bias)).i64(n).i32(x.cols()));
  }

  @Override
  public synchronized void sumRowsInto(Tensor acc, Tensor x) {
    Tensor.requireShape("bias gradient", acc, 1, x.cols());
    if (x.cols() == 0) {
      return;
    }
    kernels.launch(
        "sum_rows_into",
        (x.cols() + BLOCK - 1) / BLOCK,
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(acc)).ptr(t(x)).i32(x.rows()).i32(x.cols()));
  }

  @Override
  public synchronized double sumOfSquares(Tensor tensor) {
    graphs.requireEager("sumOfSquares");
    long n = tensor.size();
    if (n == 0) {
      return 0;
    }
    if (doubleScratch == null) {
      doubleScratch = CudaTensor.Allocation.allocate(cuda, 8);
    }
    Cuda.check(cudaMemset(CudaTensor.at(doubleScratch.address), 0, 8), "cudaMemset");
    kernels.launch(
        "sum_squares",
        Math.min(Kernels.gridFor(n, BLOCK), 1024),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(tensor)).i64(n).ptr(doubleScratch.address));
    try (DoublePointer host = new DoublePointer(1)) {
      toHost(host, doubleScratch.address, 8, "sum of squares");
      return host.get();
    }
  }

  // ---- normalisation, position, activation ----

  @Override
  public synchronized void rmsnorm(
      Tensor out, Tensor rstd, Tensor x, Tensor weight, int width, float eps) {
    launchRmsnorm(out, null, rstd, x, weight, width, eps, java.util.List.of(), java.util.List.of());
  }

  @Override
  public synchronized Tensor rmsnormForProduct(
      Tensor out,
      Tensor rstd,
      Tensor x,
      Tensor weight,
      float eps,
      java.util.List<Tensor> loraA,
      java.util.List<Tensor> loraU) {
    CudaTensor copy = bf16 && out.size() > 0 ? threadOperand("rmsnorm output", out) : null;
    launchRmsnorm(out, copy, rstd, x, weight, x.cols(), eps, loraA, loraU);
    return copy != null ? copy : out;
  }

  private void launchRmsnorm(
      Tensor out,
      CudaTensor out16,
      Tensor rstd,
      Tensor x,
      Tensor weight,
      int width,
      float eps,
      java.util.List<Tensor> loraA,
      java.util.List<Tensor> loraU) {
    int groups = x.cols() / width;
    Tensor.requireShape("rmsnorm output", out, x.rows(), x.cols());
    Tensor.requireShape("rmsnorm rstd", rstd, x.rows(), groups);
    Tensor.requireShape("rmsnorm weight", weight, 1, width);
    if (x.rows() == 0) {
      return;
    }
    long[] adapters = normAdapters(loraA, loraU, out);
    kernels.launch(
        "rmsnorm",
        x.rows(),
        groups,
        1,
        BLOCK,
        0,
        withAdapters(
            kernels
                .args()
                .ptr(t(out))
                .ptr(out16 == null ? 0L : out16.address())
                .ptr(t(rstd))
                .ptr(t(x))
                .ptr(t(weight))
                .i32(x.cols())
                .i32(width)
                .f32(eps),
            adapters));
    loraDownAfterNorm(adapters, loraA, loraU, out);
  }

  @Override
  public synchronized void rmsnormBackward(
      Tensor dx, Tensor dweight, Tensor dout, Tensor x, Tensor weight, Tensor rstd, int width) {
    int groups = x.cols() / width;
    if (x.rows() == 0) {
      return;
    }
    kernels.launch(
        "rmsnorm_backward_dx",
        x.rows(),
        groups,
        1,
        BLOCK,
        0,
        kernels
            .args()
            .ptr(t(dx))
            .ptr(t(dout))
            .ptr(t(x))
            .ptr(t(weight))
            .ptr(t(rstd))
            .i32(x.cols())
            .i32(width));
    if (dweight != null) {
      kernels.launch(
          "rmsnorm_backward_dw",
          (width + BLOCK - 1) / BLOCK,
          1,
          1,
          BLOCK,
          0,
          kernels
              .args()
              .ptr(t(dweight))
              .ptr(t(dout))
              .ptr(t(x))
              .ptr(t(rstd))
              .i32(x.rows())
              .i32(x.cols())
              .i32(width));
    }
  }

  @Override
  public synchronized void rope(
      Tensor x, int headSize, int[] positions, Tensor cos, Tensor sin, boolean inverse) {
    if (positions.length < x.rows()) {
      throw new IllegalArgumentException(
          positions.length + " positions for " + x.rows() + " rows of " + x.shapeString());
    }
    for (int n = 0; n < x.rows(); n++) {
      int p = positions[n];
      if (p < 0 || p >= cos.rows()) {
        throw new IllegalArgumentException(
            "position " + p + " is outside the RoPE table [0, " + cos.rows() + ")");
      }
    }
    long pairs = (long) x.rows() * (x.cols() / 2);
    if (pairs == 0) {
      return;
    }
    long positionsOnDevice = ints(positions);
    kernels.launch(
        "rope",
        Kernels.gridFor(pairs, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels
            .args()
            .ptr(t(x))
            .ptr(positionsOnDevice)
            .ptr(t(cos))
            .ptr(t(sin))
            .i32(x.rows())
            .i32(x.cols())
            .i32(headSize)
            .f32(inverse ? -1f : 1f));
  }

  /** One launch (rope_into_cache) where every adapter is of rank up to 64, else the default. */
  @Override
  public synchronized void ropeIntoCache(
      Tensor qkv,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor qBias,
      Tensor kBias,
      Tensor vBias,
      java.util.List<Tensor> loraYs,
      java.util.List<Tensor> loraUs,
      java.util.List<Tensor> loraBs,
      float[] loraScales,
      int headSize,
      int[] positions,
      Tensor cos,
      Tensor sin,
      Tensor keyCache,
      Tensor valueCache,
      int[] cacheRows) {
    int rows = q.rows();
    // The adapters by the output they add to (views of q, k and v: matched by address).
    Tensor[] targets = {q, k, v};
    int[] adapterOf = {-1, -1, -1};
    boolean fits =
        loraYs.size() == loraUs.size()
            && loraYs.size() == loraBs.size()
            && loraYs.size() == loraScales.length
            && k.rows() == rows
            && v.rows() == rows
            && v.cols() == k.cols()
            && keyCache.cols() == k.cols()
            && valueCache.cols() == v.cols()
            && any(keyCache).bf16 == any(valueCache).bf16
            && cacheRows.length == rows
            && positions.length >= rows
            && (qkv == null || qkv.rows() == rows && qkv.cols() == q.cols() + 2 * k.cols())
            && (qBias == null || qBias.rows() == 1 && qBias.cols() == q.cols())
            && (kBias == null || kBias.rows() == 1 && kBias.cols() == k.cols())
            && (vBias == null || vBias.rows() == 1 && vBias.cols() == v.cols());
    for (int i = 0; i < loraYs.size() && fits; i++) {
      int which = -1;
      for (int w = 0; w < 3; w++) {
        if (t(loraYs.get(i)).address() == t(targets[w]).address()
            && loraYs.get(i).cols() == targets[w].cols()) {
          which = w;
        }
      }
      fits =
          which >= 0
              && adapterOf[which] < 0
              && loraBs.get(i).cols() <= LORA_MAX_RANK
              && loraUs.get(i).rows() == rows
              && loraUs.get(i).cols() == loraBs.get(i).cols()
              && loraBs.get(i).rows() == targets[which].cols();
      if (fits) {
        adapterOf[which] = i;
      }
    }
    if (!fits) {
      Ops.super.ropeIntoCache(
          qkv,
          q,
          k,
          v,
          qBias,
          kBias,
          vBias,
          loraYs,
          loraUs,
          loraBs,
          loraScales,
          headSize,
          positions,
          cos,
          sin,
          keyCache,
          valueCache,
          cacheRows);
      return;
    }
    for (int n = 0; n < rows; n++) {
      if (positions[n] < 0 || positions[n] >= cos.rows()) {
        throw new IllegalArgumentException(
            "position " + positions[n] + " is outside the RoPE table [0, " + cos.rows() + ")");
      }
      if (cacheRows[n] < 0 || cacheRows[n] >= keyCache.rows()) {
        throw new IndexOutOfBoundsException(
            "row " + cacheRows[n] + " of " + keyCache.shapeString());
      }
    }
    long total = (long) rows * (q.cols() / 2 + k.cols() / 2 + k.cols());
    if (total == 0) {
      return;
    }
    Kernels.Args args =
        kernels
            .args()
            .ptr(qkv == null ? 0L : t(qkv).address())
            .ptr(t(q))
            .ptr(t(k))
            .ptr(t(v))
            .ptr(qBias == null ? 0L : t(qBias).address())
            .ptr(kBias == null ? 0L : t(kBias).address())
            .ptr(vBias == null ? 0L : t(vBias).address())
            .ptr(ints(positions))
            .ptr(t(cos))
            .ptr(t(sin))
            .i32(rows)
            .i32(q.cols())
            .i32(k.cols())
            .i32(headSize)
            .ptr(any(keyCache))
            .ptr(any(valueCache))
            .ptr(ints(cacheRows))
            .i32(any(keyCache).bf16 ? 1 : 0);
    for (int w = 0; w < 3; w++) {
      int i = adapterOf[w];
      args.ptr(i < 0 ? 0L : t(loraUs.get(i)).address())
          .ptr(i < 0 ? 0L : t(loraBs.get(i)).address())
          .i32(i < 0 ? 0 : loraBs.get(i).cols())
          .f32(i < 0 ? 0f : loraScales[i]);
    }
    kernels.launch("rope_into_cache", Kernels.gridFor(total, BLOCK), 1, 1, BLOCK, 0, args);
  }

  @Override
  public synchronized void copyColumns(Tensor out, Tensor in, int first) {
    Tensor.requireColumnBlock(out, in, first);
    long total = out.size();
    if (total == 0) {
      return;
    }
    kernels.launch(
        "copy_columns",
        Kernels.gridFor(total, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(out)).ptr(t(in)).i64(total).i32(out.cols()).i32(in.cols()).i32(first));
  }

  @Override
  public synchronized void swiglu(Tensor out, Tensor gate, Tensor up) {
    launchSwiglu(out, null, gate, up);
  }

  @Override
  public synchronized Tensor swigluForProduct(Tensor out, Tensor gate, Tensor up) {
    CudaTensor copy = bf16 ? threadOperand("swiglu output", out) : null;
    launchSwiglu(out, copy, gate, up);
    return copy != null ? copy : out;
  }

  @Override
  public synchronized Tensor swigluForProductWithLoraUps(
      Tensor out,
      Tensor gate,
      Tensor up,
      Tensor gateU,
      Tensor gateB,
      float gateScale,
      Tensor upU,
      Tensor upB,
      float upScale) {
    Tensor.requireShape("swiglu up", up, gate.rows(), gate.cols());
    Tensor.requireShape("swiglu output", out, gate.rows(), gate.cols());
    int rows = gate.rows();
    int cols = gate.cols();
    if (gateU != null
        && (gateU.rows() != rows || gateB.rows() != cols || gateB.cols() != gateU.cols())) {
      Tensor.requireShape("gate LoRA u", gateU, rows, gateB.cols());
      Tensor.requireShape("gate LoRA B", gateB, cols, gateU.cols());
    }
    if (upU != null && (upU.rows() != rows || upB.rows() != cols || upB.cols() != upU.cols())) {
      Tensor.requireShape("up LoRA u", upU, rows, upB.cols());
      Tensor.requireShape("up LoRA B", upB, cols, upU.cols());
    }
    CudaTensor copy = bf16 ? threadOperand("swiglu output", out) : null;
    long n = gate.size();
    if (n > 0) {
      kernels.launch(
          "swiglu_lora",
          Kernels.gridFor(n, BLOCK),
          1,
          1,
          BLOCK,
          0,
          kernels
              .args()
              .ptr(t(out))
              .ptr(copy == null ? 0L : copy.address())
              .ptr(t(gate))
              .ptr(t(up))
              .i64(n)
              .i32(cols)
              .ptr(gateU == null ? 0L : t(gateU).address())
              .ptr(gateU == null ? 0L : t(gateB).address())
              .i32(gateU == null ? 0 : gateU.cols())
              .f32(gateScale)
              .ptr(upU == null ? 0L : t(upU).address())
              .ptr(upU == null ? 0L : t(upB).address())
              .i32(upU == null ? 0 : upU.cols())
              .f32(upScale));
    }
    return copy != null ? copy : out;
  }

  private void launchSwiglu(Tensor out, CudaTensor out16, Tensor gate, Tensor up) {
    long n = gate.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "swiglu",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels
            .args()
            .ptr(t(out))
            .ptr(out16 == null ? 0L : out16.address())
            .ptr(t(gate))
            .ptr(t(up))
            .i64(n));
  }

  @Override
  public synchronized void swigluBackward(
      Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    launchSwigluBackward(dgate, dup, null, null, dout, gate, up);
  }

  @Override
  public synchronized GatedPair swigluBackwardForProducts(
      Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    if (!bf16) {
      return Ops.super.swigluBackwardForProducts(dgate, dup, dout, gate, up);
    }
    CudaTensor dgate16 = threadOperand("swiglu gate gradient", dgate);
    CudaTensor dup16 = threadOperand("swiglu up gradient", dup);
    launchSwigluBackward(dgate, dup, dgate16, dup16, dout, gate, up);
    return new GatedPair(dgate16, dup16);
  }

  private void launchSwigluBackward(
      Tensor dgate,
      Tensor dup,
      CudaTensor dgate16,
      CudaTensor dup16,
      Tensor dout,
      Tensor gate,
      Tensor up) {
    long n = gate.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "swiglu_backward",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels
            .args()
            .ptr(t(dgate))
            .ptr(t(dup))
            .ptr(dgate16 == null ? 0L : dgate16.address())
            .ptr(dup16 == null ? 0L : dup16.address())
            .ptr(t(dout))
            .ptr(t(gate))
            .ptr(t(up))
            .i64(n));
  }

  @Override
  public synchronized void embedding(Tensor out, Tensor table, int[] ids) {
    for (int n = 0; n < ids.length; n++) {
      if (ids[n] < 0 || ids[n] >= table.rows()) {
        throw new IllegalArgumentException(
            "token id "
                + ids[n]
                + " at position "
                + n
                + " is outside the vocabulary [0, "
                + table.rows()
                + ")");
      }
    }
    long total = (long) ids.length * table.cols();
    if (total == 0) {
      return;
    }
    long idsOnDevice = ints(ids);
    CudaTensor rowsOf = any(table);
    kernels.launch(
        rowsOf.bf16 ? "embedding_bf16" : "embedding",
        Kernels.gridFor(total, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(out)).ptr(rowsOf).ptr(idsOnDevice).i64(total).i32(table.cols()));
  }

  @Override
  public synchronized void embeddingBackward(Tensor dtable, Tensor dout, int[] ids) {
    long total = (long) ids.length * dtable.cols();
    if (total == 0) {
      return;
    }
    long idsOnDevice = ints(ids);
    kernels.launch(
        "embedding_backward",
        Kernels.gridFor(total, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels.args().ptr(t(dtable)).ptr(t(dout)).ptr(idsOnDevice).i64(total).i32(dtable.cols()));
  }

  // ---- attention ----

  /**
   * The batch layout as 6 × S ints: query starts, query counts, key starts, key counts, shared
   * prefix starts, prefix counts (kernels.cu's query_block and key_row read them).
   */
  private long layout(AttentionBatch batch) {
    int s = batch.sequences();
    int[] packed = new int[6 * s];
    System.arraycopy(batch.queryStart(), 0, packed, 0, s);
    System.arraycopy(batch.queryCount(), 0, packed, s, s);
    System.arraycopy(batch.keyStart(), 0, packed, 2 * s, s);
    System.arraycopy(batch.keyCount(), 0, packed, 3 * s, s);
    System.arraycopy(batch.prefixStart(), 0, packed, 4 * s, s);
    System.arraycopy(batch.prefixCount(), 0, packed, 5 * s, s);
    return ints(packed);
  }

  @Override
  public synchronized void attention(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    attention(out, null, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
  }

  /** The bf16 copy written by the key-tile kernels where they run (decode), else converted. */
  @Override
  public synchronized Tensor attentionForProduct(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    CudaTensor copy = bf16 && out.size() > 0 ? threadOperand("attention output", out) : null;
    boolean copied = attention(out, copy, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
    return copied ? copy : productOperand(out);
  }

  /**
   * Attention; {@code out16}, when not null, gets the output rounded to bf16 too where the key-tile
   * kernels run. Returns whether {@code out16} was written.
   */
  private boolean attention(
      Tensor out,
      CudaTensor out16,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    int maxQueries = batch.maxQueries();
    if (batch.sequences() == 0 || maxQueries == 0) {
      return false;
    }
    AttentionGrid grid = AttentionGrid.of(numHeads, numKvHeads, headSize);
    CudaTensor keys = any(k);
    CudaTensor values = any(v);
    if (keys.bf16 != values.bf16) {
      throw new IllegalArgumentException(
          "attention keys " + k + " and values " + v + " differ in precision");
    }
    if (byProducts(batch, numHeads)) {
      new ProductAttention(batch, numHeads, numKvHeads, headSize).forward(out, lse, q, k, v);
      return false;
    }
    long seq = layout(batch);
    String keyTiles = keyTileKernel(keys, values, grid, headSize);
    long blocks = (long) maxQueries * numKvHeads * grid.chunks() * batch.sequences();
    // The key-tile kernels have their head size built in; their tiles are staged in dynamic
    // shared memory, in a layout that fits this GPU's per-block limit (else the rows kernel).
    KeyTileLayout layout =
        keyTiles == null
            ? null
            : KeyTileLayout.choose(
                blocks < keyTileFewBlocks ? 8 : keyTileWarps,
                keyTileStages,
                keyTiles.startsWith("attention_mma")
                    ? 2 * 2 * 32 * (headSize + 8) // MMA_STAGE(HD) bf16
                    : 2 * (32 * (headSize + 8) + 32 * headSize), // KEY_TILE_STAGE(HD) bf16
                cuda.maxSharedOptin() - KEY_TILE_STATIC_BYTES);
    if (layout == null) {
      keyTiles = null;
    }
    if (keyTiles != null && keyTiles.startsWith("attention_mma") && promptBundles) {
      if (bundledAttention(
          out, out16, lse, q, keys, values, seq, batch, numHeads, numKvHeads, headSize, grid)) {
        return out16 != null;
      }
    }
    Kernels.Args args =
        kernels
            .args()
            .ptr(t(out))
            .ptr(t(lse))
            .ptr(t(q))
            .ptr(keys)
            .ptr(values)
            .ptr(seq)
            .i32(batch.sequences())
            .i32(numHeads)
            .i32(numKvHeads)
            .i32(headSize)
            .i32(grid.headsPerBlock())
            .f32(grid.scale());
    if (keyTiles == null) {
      kernels.launch(
          ATTENTION_KERNELS[keys.bf16 ? 1 : 0][grid.level()],
          maxQueries,
          numKvHeads * grid.chunks(),
          batch.sequences(),
          ATTENTION_WARPS * 32,
          grid.sharedBytes(),
          args);
      return false;
    }
    kernels.launch(
        keyTiles,
        maxQueries,
        numKvHeads * grid.chunks(),
        batch.sequences(),
        32 * layout.warps(),
        layout.sharedBytes(),
        args.i32(layout.stages()).ptr(out16 == null ? 0 : out16.address()));
    return out16 != null;
  }

  /**
   * Decode attention by {@link PromptBundles} (attention_mma_bundles): where the samples of a
   * prompt read its cached keys, a block stages them once for up to 16 query heads, which is 16 /
   * group samples. Returns false, having launched nothing, where that does not apply (prefill, no
   * shared prompts, a group of more than 8 query heads, no layout that fits).
   */
  private boolean bundledAttention(
      Tensor out,
      CudaTensor out16,
      Tensor lse,
      Tensor q,
      CudaTensor keys,
      CudaTensor values,
      long seq,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize,
      AttentionGrid grid) {
    int group = numHeads / numKvHeads;
    if (batch.maxQueries() != 1 || grid.chunks() != 1 || group > 8 || !batch.hasPrefixes()) {
      return false;
    }
    int[] table = PromptBundles.of(batch, 16 / group);
    if (table == null || (!forcePromptBundles && !PromptBundles.pays(batch, table))) {
      return false;
    }
    KeyTileLayout layout =
        KeyTileLayout.choose(
            bundleWarps,
            keyTileStages,
            2 * 2 * 32 * (headSize + 8), // MMA_STAGE(HD) bf16
            cuda.maxSharedOptin() - KEY_TILE_STATIC_BYTES);
    if (layout == null) {
      return false;
    }
    kernels.launch(
        headSize == 128 ? "attention_mma_bundles_128" : "attention_mma_bundles_64",
        1,
        numKvHeads,
        batch.sequences(),
        32 * layout.warps(),
        layout.sharedBytes(),
        kernels
            .args()
            .ptr(t(out))
            .ptr(t(lse))
            .ptr(t(q))
            .ptr(keys)
            .ptr(values)
            .ptr(seq)
            .i32(batch.sequences())
            .i32(numHeads)
            .i32(numKvHeads)
            .f32(grid.scale())
            .i32(layout.stages())
            .ptr(out16 == null ? 0 : out16.address())
            .ptr(ints(table)));
    return true;
  }

  /**
   * Whether decode attention stages a shared prompt's keys once for the samples reading them
   * (tensor-core attention only): {@code -Drl.cuda.promptBundles=false}, the default, never; {@code
   * auto} where that halves the key tiles read ({@link PromptBundles#pays}); {@code true} wherever
   * it applies. Off by default because on the H100 it paid only for long prompts (1B shape, 256
   * sequences, 512-token prompts and 64 new tokens: 43,679 tokens/s with auto against 41,030) and
   * cost at the benchmark's 128 + 256 (61,349 against 65,265; 0.5B 67,713 against 79,697).
   */
  private boolean promptBundles =
      java.util.List.of("auto", "true")
          .contains(System.getProperty("rl.cuda.promptBundles", "false"));

  private boolean forcePromptBundles = "true".equals(System.getProperty("rl.cuda.promptBundles"));

  /** Warps a block of the bundled attention ({@code -Drl.cuda.bundleWarps}, 1 to 8, default 8). */
  private int bundleWarps = Math.clamp(Integer.getInteger("rl.cuda.bundleWarps", 8), 1, 8);

  /**
   * Turns the bundled decode attention on (wherever it applies, paying or not) or off, for tests,
   * whatever the property says.
   */
  synchronized void usePromptBundles(boolean on) {
    promptBundles = on;
    forcePromptBundles = on;
  }

  /**
   * Warps a block and tiles staged a warp for the key-tile kernels, and the dynamic shared memory
   * that takes ({@code warps · stages · stageBytes}).
   */
  record KeyTileLayout(int warps, int stages, int sharedBytes) {
    /**
     * The wanted layout, two stages only within {@link #KEY_TILE_TWO_STAGE_BYTES}; where that
     * exceeds {@code limit} (GPUs with less shared memory a block than the H100's 227 KB), one
     * stage, then half the warps each time; null where not even one warp fits.
     */
    static KeyTileLayout choose(int warps, int stagesWanted, int stageBytes, long limit) {
      int stages = stagesWanted > 1 && warps * 2L * stageBytes <= KEY_TILE_TWO_STAGE_BYTES ? 2 : 1;
      while (warps * (long) stages * stageBytes > limit) {
        if (stages > 1) {
          stages = 1;
        } else if (warps > 1) {
          warps /= 2;
        } else {
          return null;
        }
      }
      return new KeyTileLayout(warps, stages, warps * stages * stageBytes);
    }
  }

  /**
   * Shared memory up to which the key-tile kernels stage two tiles per warp: about three blocks an
   * SM (on the H100 the 1B shape's 4-warp blocks gained with two stages, the 0.5B shape's 8-warp
   * blocks with one).
   */
  private static final long KEY_TILE_TWO_STAGE_BYTES = 80 * 1024;

  /**
   * How the attention kernels (forward and backward pass 1) split a query row's heads: {@code dims}
   * head dims per lane (1, 2, 4 or 8: a kernel instantiation each, {@code level} its log2), {@code
   * headsPerBlock} query heads of a key/value group per block (8, or 4 from 4 dims per lane on:
   * registers), {@code chunks} blocks per key/value head.
   */
  private record AttentionGrid(int dims, int headsPerBlock, int chunks, int headSize) {
    static AttentionGrid of(int numHeads, int numKvHeads, int headSize) {
      if (headSize > 256) {
        throw new IllegalArgumentException(
            "attention supports head sizes up to 256, not " + headSize);
      }
      int dims = headSize <= 32 ? 1 : headSize <= 64 ? 2 : headSize <= 128 ? 4 : 8;
      int group = numHeads / numKvHeads;
      int headsPerBlock = Math.min(group, dims >= 4 ? 4 : 8);
      return new AttentionGrid(
          dims, headsPerBlock, (group + headsPerBlock - 1) / headsPerBlock, headSize);
    }

    int level() {
      return Integer.numberOfTrailingZeros(dims);
    }

    /** The per-warp partial outputs the kernels merge: ATT_WARPS · headsPerBlock · headSize. */
    int sharedBytes() {
      return 4 * ATTENTION_WARPS * headsPerBlock * headSize;
    }

    float scale() {
      return (float) (1.0 / Math.sqrt(headSize));
    }
  }

  /**
   * Whether attention over a bf16 KV cache goes by key tiles ({@code -Drl.cuda.decodeAttention=mma}
   * or {@code key-tiles}) or a warp per key like the float32 cache ({@code warp-per-key}).
   */
  private boolean keyTileAttention =
      !"warp-per-key".equals(System.getProperty("rl.cuda.decodeAttention", "mma"));

  /**
   * Whether the key tiles' scores and value updates run on tensor cores ({@code
   * -Drl.cuda.decodeAttention=mma}, the default, on sm_80 and later; {@code key-tiles} keeps float
   * FMAs: a lane per key, then a lane per head dim).
   */
  private boolean mmaAttention = "mma".equals(System.getProperty("rl.cuda.decodeAttention", "mma"));

  /** Chooses the bf16-cache attention kernel for tests, whatever the property says. */
  synchronized void useKeyTileAttention(boolean keyTiles) {
    keyTileAttention = keyTiles;
  }

  /** Chooses tensor cores for the key tiles (where the GPU has them) for tests. */
  synchronized void useMmaAttention(boolean mma) {
    mmaAttention = mma;
  }

  /**
   * Below this many blocks the key-tile kernel runs 8 warps a block instead of {@link
   * #keyTileWarps}, so that short batches still keep the GPU's SMs busy.
   */
  private long keyTileFewBlocks = 1024;

  /** An upper bound of the key-tile kernel's static shared memory (query, probabilities, merge). */
  private static final int KEY_TILE_STATIC_BYTES = 16 * 1024;

  /**
   * Warps per block of the key-tile kernel from {@link #keyTileFewBlocks} blocks on ({@code
   * -Drl.cuda.keyTileWarps}, 1 to 8, default 4), and its tile stages per warp ({@code
   * -Drl.cuda.keyTileStages}: 2, the default, copies a warp's next tile while it uses this one; 1
   * copies one tile at a time).
   */
  private int keyTileWarps = Math.clamp(Integer.getInteger("rl.cuda.keyTileWarps", 4), 1, 8);

  private int keyTileStages = Math.clamp(Integer.getInteger("rl.cuda.keyTileStages", 2), 1, 2);

  /**
   * Sets the key-tile kernels' warps per block (for any number of blocks; the bundled kernel's too)
   * and stages, for tests.
   */
  synchronized void useKeyTileLayout(int warps, int stages) {
    keyTileFewBlocks = 0;
    keyTileWarps = Math.clamp(warps, 1, 8);
    bundleWarps = keyTileWarps;
    keyTileStages = Math.clamp(stages, 1, 2);
  }

  /**
   * The key-tile kernel for these operands, or null where it does not apply: float32 caches, head
   * sizes other than 64 and 128, rows not 16-byte aligned (it reads keys 16 bytes at a time).
   */
  private String keyTileKernel(
      CudaTensor keys, CudaTensor values, AttentionGrid grid, int headSize) {
    if (!keyTileAttention || !keys.bf16 || (headSize != 64 && headSize != 128)) {
      return null;
    }
    if (keys.address() % 16 != 0 || values.address() % 16 != 0 || keys.cols() % 8 != 0) {
      return null;
    }
    if (mmaAttention && cuda.major() >= 8 && grid.headsPerBlock() <= 8) {
      return headSize == 128 ? "attention_mma_128" : "attention_mma_64";
    }
    if (headSize == 128) {
      return "attention_key_tiles_128x4";
    }
    return grid.headsPerBlock() <= 4 ? "attention_key_tiles_64x4" : "attention_key_tiles_64x8";
  }

  /** The attention instantiations: [float32 or bf16 keys and values][log2 of dims per lane]. */
  private static final String[][] ATTENTION_KERNELS = {
    {"attention_f32_d1", "attention_f32_d2", "attention_f32_d4", "attention_f32_d8"},
    {"attention_bf16_d1", "attention_bf16_d2", "attention_bf16_d4", "attention_bf16_d8"}
  };

  /** Warps per attention block (kernels.cu's ATT_WARPS). */
  private static final int ATTENTION_WARPS = 8;

  @Override
  public synchronized void attentionBackward(
      Tensor dq,
      Tensor dk,
      Tensor dv,
      Tensor dout,
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    int maxQueries = batch.maxQueries();
    if (batch.sequences() == 0 || maxQueries == 0) {
      return;
    }
    AttentionGrid grid = AttentionGrid.of(numHeads, numKvHeads, headSize);
    if (batch.hasPrefixes()) {
      throw new IllegalArgumentException(
          "attentionBackward: a batch whose sequences read a shared key prefix (only decoding does)");
    }
    if (byProducts(batch, numHeads)) {
      new ProductAttention(batch, numHeads, numKvHeads, headSize)
          .backward(dq, dk, dv, dout, out, lse, q, k, v);
      return;
    }
    long seq = layout(batch);
    // D = rowsum(dO ∘ O) per query row and head, written by pass 1 for pass 2.
    long delta = scratch("flash attention delta", 4L * q.rows() * numHeads);
    kernels.launch(
        BACKWARD_KERNELS[0][grid.level()],
        maxQueries,
        numKvHeads * grid.chunks(),
        batch.sequences(),
        ATTENTION_WARPS * 32,
        grid.sharedBytes(),
        kernels
            .args()
            .ptr(t(dq))
            .ptr(delta)
            .ptr(t(dout))
            .ptr(t(out))
            .ptr(t(lse))
            .ptr(t(q))
            .ptr(t(k))
            .ptr(t(v))
            .ptr(seq)
            .i32(batch.sequences())
            .i32(numHeads)
            .i32(numKvHeads)
            .i32(headSize)
            .i32(grid.headsPerBlock())
            .f32(grid.scale()));
    kernels.launch(
        BACKWARD_KERNELS[1][grid.level()],
        Math.max(1, batch.maxKeys()),
        numKvHeads,
        batch.sequences(),
        ATTENTION_WARPS * 32,
        4 * 2 * ATTENTION_WARPS * headSize,
        kernels
            .args()
            .ptr(t(dk))
            .ptr(t(dv))
            .ptr(delta)
            .ptr(t(dout))
            .ptr(t(lse))
            .ptr(t(q))
            .ptr(t(k))
            .ptr(t(v))
            .ptr(seq)
            .i32(batch.sequences())
            .i32(numHeads)
            .i32(numKvHeads)
            .i32(headSize)
            .f32(grid.scale()));
  }

  // ---- attention through batched products ----

  /**
   * Which attention implementation runs, from {@code -Drl.cuda.attention}: {@code auto} (default:
   * batched tensor-core products for prefill and training where padding wastes little, the flash
   * kernels for decode steps), {@code products} or {@code flash} (each wherever it can).
   */
  enum AttentionPath {
    AUTO,
    PRODUCTS,
    FLASH
  }

  private AttentionPath attentionPath = configuredAttentionPath();

  static AttentionPath configuredAttentionPath() {
    String path = System.getProperty("rl.cuda.attention", "auto");
    return switch (path) {
      case "auto" -> AttentionPath.AUTO;
      case "products" -> AttentionPath.PRODUCTS;
      case "flash" -> AttentionPath.FLASH;
      default ->
          throw new IllegalArgumentException(
              "rl.cuda.attention: '" + path + "' is unknown, expected auto, products or flash");
    };
  }

  /** For tests: runs every later attention call through {@code path}. */
  synchronized void useAttentionPath(AttentionPath path) {
    attentionPath = path;
  }

  /**
   * Score elements (sequences · heads · queries · keys) one chunk of the product path holds: 2^27,
   * 0.5 GiB of float32 scores plus as much again for the backward's dP and the E-typed P and dS. A
   * single sequence above it runs on the flash kernels.
   */
  static final long PRODUCT_SCORES_BUDGET = 1L << 27;

  /**
   * Whether attention over {@code batch} goes through batched products: scores of one sequence fit
   * the budget, and (auto) it is no decode step and the padding to the longest sequence at most
   * quadruples the score work.
   */
  private boolean byProducts(AttentionBatch batch, int numHeads) {
    long perSequence = (long) numHeads * batch.maxQueries() * batch.maxKeys();
    if (attentionPath == AttentionPath.FLASH
        || perSequence > PRODUCT_SCORES_BUDGET
        || batch.hasPrefixes()) { // (the products read each sequence's keys as one block)
      return false;
    }
    if (attentionPath == AttentionPath.PRODUCTS) {
      return true;
    }
    if (batch.maxQueries() < 2) {
      return false;
    }
    long real = 0;
    for (int s = 0; s < batch.sequences(); s++) {
      real += (long) batch.queryCount()[s] * batch.keyCount()[s];
    }
    long padded = (long) batch.sequences() * batch.maxQueries() * batch.maxKeys();
    return padded <= 4 * real;
  }

  private static final long BATCHED_TAG = 4;

  /**
   * Row-major batched product {@code c_i = alpha · op(a_i) · op(b_i)} over {@code batch} blocks at
   * fixed element strides: a and b of {@code type} (CUDA_R_16BF or CUDA_R_32F), c float32 [m, n].
   */
  private void batchedProduct(
      long c,
      long a,
      boolean transA,
      long b,
      boolean transB,
      int m,
      int n,
      int k,
      long strideA,
      long strideB,
      long strideC,
      int batch,
      float alpha,
      int type) {
    alphaHost.put(0, alpha);
    betaHost.put(0, 0f);
    if (!graphs.admit(
        BATCHED_TAG,
        (transA ? 1 : 0) | (transB ? 2 : 0),
        m,
        n,
        k,
        strideA,
        strideB,
        strideC,
        batch,
        Float.floatToRawIntBits(alpha),
        type,
        a,
        b,
        c)) {
      return;
    }
    // Row-major c = op(a)·op(b) is column-major cᵀ = op(b)ᵀ·op(a)ᵀ; leading dims are the stored
    // row-major widths.
    checkBlas(
        cublasGemmStridedBatchedEx(
            blas,
            transB ? CUBLAS_OP_T : CUBLAS_OP_N,
            transA ? CUBLAS_OP_T : CUBLAS_OP_N,
            n,
            m,
            k,
            alphaHost,
            CudaTensor.at(b),
            type,
            transB ? k : n,
            strideB,
            CudaTensor.at(a),
            type,
            transA ? m : k,
            strideA,
            betaHost,
            CudaTensor.at(c),
            CUDA_R_32F,
            n,
            strideC,
            batch,
            CUBLAS_COMPUTE_32F,
            CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
  }

  /**
   * Attention of one call through batched products, chunk by chunk of sequences: padded blocks per
   * (sequence, key/value head) with the group's query heads stacked, so {@code G · Tq} query rows
   * share one product with the {@code Tk} keys (see kernels.cu). In bf16 precision the padded
   * operands and P, dS are bf16 (tensor cores, float32 accumulation); otherwise float32.
   */
  private final class ProductAttention {
    final int sequences, group, numHeads, numKvHeads, headSize, queries, keys, chunk;
    final long seq;
    final int type, elementBytes;
    final float scale;

    ProductAttention(AttentionBatch batch, int numHeads, int numKvHeads, int headSize) {
      this.sequences = batch.sequences();
      this.numHeads = numHeads;
      this.numKvHeads = numKvHeads;
      this.group = numHeads / numKvHeads;
      this.headSize = headSize;
      this.queries = batch.maxQueries();
      this.keys = Math.max(1, batch.maxKeys());
      long perSequence = (long) numHeads * queries * keys;
      this.chunk = (int) Math.max(1, Math.min(sequences, PRODUCT_SCORES_BUDGET / perSequence));
      this.seq = layout(batch);
      this.type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
      this.elementBytes = bf16 ? 2 : 4;
      this.scale = (float) (1.0 / Math.sqrt(headSize));
    }

    /** Elements of the chunk's padded query blocks [B, G, Tq, D] and key blocks [B, Tk, D]. */
    long queryElements() {
      return (long) chunk * numHeads * queries * headSize;
    }

    long keyElements() {
      return (long) chunk * numKvHeads * keys * headSize;
    }

    long scoreElements() {
      return (long) chunk * numHeads * queries * keys;
    }

    /** Gathers the rows of {@code src} for sequences [s0, s0 + n) into padded blocks at dst. */
    void pack(long dst, Tensor src, int s0, int n, boolean asQueries) {
      CudaTensor x = any(src);
      String kernel =
          x.bf16
              ? (bf16 ? "pack_rows_bf16" : null)
              : (bf16 ? "pack_rows_f32_bf16" : "pack_rows_f32");
      if (kernel == null) {
        throw new IllegalArgumentException(
            "attention input " + src + " is bf16 but CudaOps runs in float32 precision");
      }
      int g = asQueries ? group : 1;
      int rows = asQueries ? queries : keys;
      long paddedRows = (long) n * numKvHeads * g * rows; // a warp each
      kernels.launch(
          kernel,
          Kernels.gridFor(paddedRows * 32, BLOCK),
          1,
          1,
          BLOCK,
          0,
          kernels
              .args()
              .ptr(dst)
              .ptr(x)
              .ptr(seq)
              .i32(sequences)
              .i32(s0)
              .i32(asQueries ? 0 : 2)
              .i32(g)
              .i32(numKvHeads)
              .i32(rows)
              .i32(headSize)
              .i64(paddedRows));
    }

    /**
     * Scatters padded float32 blocks back into rows of dst: mode 0 stores, 1 adds, 2 atomically.
     */
    void unpack(Tensor dst, long src, int s0, int n, boolean asQueries, int mode) {
      int g = asQueries ? group : 1;
      int rows = asQueries ? queries : keys;
      long paddedRows = (long) n * numKvHeads * g * rows; // a warp each
      kernels.launch(
          "unpack_rows",
          Kernels.gridFor(paddedRows * 32, BLOCK),
          1,
          1,
          BLOCK,
          0,
          kernels
              .args()
              .ptr(t(dst))
              .ptr(src)
              .ptr(seq)
              .i32(sequences)
              .i32(s0)
              .i32(asQueries ? 0 : 2)
              .i32(g)
              .i32(numKvHeads)
              .i32(rows)
              .i32(headSize)
              .i64(paddedRows)
              .i32(mode));
    }

    void forward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v) {
      long qp = scratch("attention q", elementBytes * queryElements());
      long kp = scratch("attention k", elementBytes * keyElements());
      long vp = scratch("attention v", elementBytes * keyElements());
      long scores = scratch("attention scores", 4 * scoreElements());
      long probs = scratch("attention probs", elementBytes * scoreElements());
      long op = scratch("attention out", 4 * queryElements());
      int rows = group * queries;
      for (int s0 = 0; s0 < sequences; s0 += chunk) {
        int n = Math.min(chunk, sequences - s0);
        int blocks = n * numKvHeads;
        pack(qp, q, s0, n, true);
        pack(kp, k, s0, n, false);
        pack(vp, v, s0, n, false);
        // scores [B, G·Tq, Tk] = scale · Q · Kᵀ
        batchedProduct(
            scores,
            qp,
            false,
            kp,
            true,
            rows,
            keys,
            headSize,
            (long) rows * headSize,
            (long) keys * headSize,
            (long) rows * keys,
            blocks,
            scale,
            type);
        long scoreRows = (long) blocks * rows; // a warp each
        kernels.launch(
            bf16 ? "softmax_rows_bf16" : "softmax_rows_f32",
            Kernels.gridFor(scoreRows * 32, BLOCK),
            1,
            1,
            BLOCK,
            0,
            kernels
                .args()
                .ptr(probs)
                .ptr(t(lse))
                .ptr(scores)
                .ptr(seq)
                .i32(sequences)
                .i32(s0)
                .i32(group)
                .i32(numKvHeads)
                .i32(queries)
                .i32(keys)
                .i64(scoreRows));
        // out [B, G·Tq, D] = P · V
        batchedProduct(
            op,
            probs,
            false,
            vp,
            false,
            rows,
            headSize,
            keys,
            (long) rows * keys,
            (long) keys * headSize,
            (long) rows * headSize,
            blocks,
            1f,
            type);
        unpack(out, op, s0, n, true, 0);
      }
    }

    void backward(
        Tensor dq,
        Tensor dk,
        Tensor dv,
        Tensor dout,
        Tensor out,
        Tensor lse,
        Tensor q,
        Tensor k,
        Tensor v) {
      long qp = scratch("attention q", elementBytes * queryElements());
      long kp = scratch("attention k", elementBytes * keyElements());
      long vp = scratch("attention v", elementBytes * keyElements());
      long dop = scratch("attention dout", elementBytes * queryElements());
      long delta = scratch("attention delta", 4L * chunk * numHeads * queries);
      long scores = scratch("attention scores", 4 * scoreElements());
      long dprobs = scratch("attention dprobs", 4 * scoreElements());
      long probs = scratch("attention probs", elementBytes * scoreElements());
      long dscores = scratch("attention dscores", elementBytes * scoreElements());
      long dqp = scratch("attention out", 4 * queryElements());
      long dkp = scratch("attention dk", 4 * keyElements());
      long dvp = scratch("attention dv", 4 * keyElements());
      int rows = group * queries;
      long queryStride = (long) rows * headSize;
      long keyStride = (long) keys * headSize;
      long scoreStride = (long) rows * keys;
      for (int s0 = 0; s0 < sequences; s0 += chunk) {
        int n = Math.min(chunk, sequences - s0);
        int blocks = n * numKvHeads;
        pack(qp, q, s0, n, true);
        pack(kp, k, s0, n, false);
        pack(vp, v, s0, n, false);
        pack(dop, dout, s0, n, true);
        long deltaRows = (long) blocks * rows;
        kernels.launch(
            "attention_delta",
            (int) ((deltaRows * 32 + BLOCK - 1) / BLOCK),
            1,
            1,
            BLOCK,
            0,
            kernels
                .args()
                .ptr(delta)
                .ptr(t(dout))
                .ptr(t(out))
                .ptr(seq)
                .i32(sequences)
                .i32(s0)
                .i32(group)
                .i32(numKvHeads)
                .i32(queries)
                .i32(headSize)
                .i64(deltaRows));
        // scores = scale · Q · Kᵀ and dP = dO · Vᵀ, both [B, G·Tq, Tk]
        batchedProduct(
            scores,
            qp,
            false,
            kp,
            true,
            rows,
            keys,
            headSize,
            queryStride,
            keyStride,
            scoreStride,
            blocks,
            scale,
            type);
        batchedProduct(
            dprobs,
            dop,
            false,
            vp,
            true,
            rows,
            keys,
            headSize,
            queryStride,
            keyStride,
            scoreStride,
            blocks,
            1f,
            type);
        kernels.launch(
            bf16 ? "softmax_backward_bf16" : "softmax_backward_f32",
            Kernels.gridFor(deltaRows * 32, BLOCK),
            1,
            1,
            BLOCK,
            0,
            kernels
                .args()
                .ptr(probs)
                .ptr(dscores)
                .ptr(scores)
                .ptr(dprobs)
                .ptr(delta)
                .ptr(t(lse))
                .ptr(seq)
                .i32(sequences)
                .i32(s0)
                .i32(group)
                .i32(numKvHeads)
                .i32(queries)
                .i32(keys)
                .f32(scale)
                .i64(deltaRows));
        // dV = Pᵀ · dO and dK = dSᵀ · Q [B, Tk, D] (summing the group's heads); dQ = dS · K
        batchedProduct(
            dvp,
            probs,
            true,
            dop,
            false,
            keys,
            headSize,
            rows,
            scoreStride,
            queryStride,
            keyStride,
            blocks,
            1f,
            type);
        batchedProduct(
            dkp,
            dscores,
            true,
            qp,
            false,
            keys,
            headSize,
            rows,
            scoreStride,
            queryStride,
            keyStride,
            blocks,
            1f,
            type);
        batchedProduct(
            dqp,
            dscores,
            false,
            kp,
            false,
            rows,
            headSize,
            keys,
            scoreStride,
            keyStride,
            queryStride,
            blocks,
            1f,
            type);
        unpack(dq, dqp, s0, n, true, 1);
        // Sequences may share key rows (a decode batch's cache): accumulate atomically.
        unpack(dk, dkp, s0, n, false, 2);
        unpack(dv, dvp, s0, n, false, 2);
      }
    }
  }

  /** The backward instantiations: [pass 1 (dq), pass 2 (dk, dv)][log2 of dims per lane]. */
  private static final String[][] BACKWARD_KERNELS = {
    {
      "attention_backward_q_d1",
      "attention_backward_q_d2",
      "attention_backward_q_d4",
      "attention_backward_q_d8"
    },
    {
      "attention_backward_kv_d1",
      "attention_backward_kv_d2",
      "attention_backward_kv_d4",
      "attention_backward_kv_d8"
    }
  };

  // ---- output head ----

  /** Rows of logits per chunk, and a scratch [chunk, V] tensor reused across calls. */
  private CudaTensor logitsChunk(int vocab, int rows) {
    int chunk = Math.min(Math.max(1, LOGITS_CHUNK_FLOATS / vocab), Math.max(1, rows));
    logitsScratch = reusable(logitsScratch, chunk, vocab, false);
    return logitsScratch;
  }

  private CudaTensor logitGradientScratch;

  @Override
  public synchronized void targetLogprobs(
      float[] out, Tensor hidden, Tensor head, int[] targets, float temperature) {
    graphs.requireEager("targetLogprobs");
    int vocab = head.rows();
    int rows = hidden.rows();
    if (rows == 0) {
      return;
    }
    CudaTensor scratch = logitsChunk(vocab, rows);
    int chunk = scratch.rows();
    CudaTensor.Allocation result = CudaTensor.Allocation.allocate(cuda, 4L * rows);
    for (int start = 0; start < rows; start += chunk) {
      int count = Math.min(chunk, rows - start);
      Tensor block = rows(scratch, 0, count);
      // logits [count, V] = hidden rows · headᵀ / T
      gemm(block, rows(hidden, start, count), false, head, true, 1f / temperature, 0f);
      long targetsOnDevice = ints(java.util.Arrays.copyOfRange(targets, start, start + count));
      kernels.launch(
          "target_logprobs",
          count,
          1,
          1,
          HEAD_THREADS,
          0,
          kernels
              .args()
              .ptr(result.address + 4L * start)
              .ptr(t(block))
              .ptr(targetsOnDevice)
              .i32(vocab));
    }
    try (FloatPointer host = new FloatPointer(rows)) {
      toHost(host, result.address, 4L * rows, "target logprobs");
      host.get(out, 0, rows);
    }
  }

  @Override
  public synchronized void targetLogprobsBackward(
      Tensor dhidden,
      Tensor dhead,
      float[] dlogprob,
      Tensor hidden,
      Tensor head,
      int[] targets,
      float temperature) {
    graphs.requireEager("targetLogprobsBackward");
    int vocab = head.rows();
    int rows = hidden.rows();
    if (rows == 0) {
      return;
    }
    CudaTensor scratch = logitsChunk(vocab, rows);
    int chunk = scratch.rows();
    Tensor grads = upload(java.util.Arrays.copyOf(dlogprob, rows), 1, rows);
    // With a bf16 head the logit gradients go straight to bf16, the precision their product with
    // the head reads anyway (no float32 round trip through to_bf16); with a trained head they
    // stay float32, in place.
    boolean bf16Gradients = any(head).bf16 && dhead == null;
    if (bf16Gradients) {
      logitGradientScratch = reusable(logitGradientScratch, chunk, vocab, true);
    }
    CudaTensor gradScratch = bf16Gradients ? logitGradientScratch : null;
    for (int start = 0; start < rows; start += chunk) {
      int count = Math.min(chunk, rows - start);
      Tensor block = rows(scratch, 0, count);
      Tensor hiddenRows = rows(hidden, start, count);
      gemm(block, hiddenRows, false, head, true, 1f / temperature, 0f);
      Tensor gradient = bf16Gradients ? rows(gradScratch, 0, count) : block;
      long targetsOnDevice = ints(java.util.Arrays.copyOfRange(targets, start, start + count));
      kernels.launch(
          bf16Gradients ? "target_logprobs_backward_bf16" : "target_logprobs_backward",
          count,
          1,
          1,
          HEAD_THREADS,
          0,
          kernels
              .args()
              .ptr(any(gradient))
              .ptr(t(block))
              .ptr(t(grads).address() + 4L * start)
              .ptr(targetsOnDevice)
              .i32(vocab)
              .f32(1f / temperature));
      gemm(rows(dhidden, start, count), gradient, false, head, false, 1f, 1f);
      if (dhead != null) {
        gemm(dhead, block, true, hiddenRows, false, 1f, 1f);
      }
    }
  }

  @Override
  public synchronized void logits(Tensor out, Tensor hidden, Tensor head, float temperature) {
    gemm(out, hidden, false, head, true, 1f / temperature, 0f);
  }

  // ---- sampling ----

  @Override
  public synchronized void sampleTokens(
      Tensor logits,
      double[] inverseTemperature,
      double[] uniform,
      int[] tokens,
      double[] logprobs) {
    graphs.requireEager("sampleTokens");
    int rows = logits.rows();
    if (rows == 0) {
      return;
    }
    // Scratch layout: invT [rows] doubles, uniform [rows] doubles, logprobs [rows] doubles,
    // tokens [rows] ints.
    long base = scratch("sampling", 28L * rows);
    long uniformAt = base + 8L * rows;
    long logprobsAt = base + 16L * rows;
    long tokensAt = base + 24L * rows;
    try (DoublePointer host = new DoublePointer(2L * rows)) {
      host.put(inverseTemperature, 0, rows);
      host.position(rows).put(uniform, 0, rows);
      host.position(0);
      toDevice(base, host, 16L * rows, "sampling parameters");
    }
    kernels.launch(
        "sample_rows",
        rows,
        1,
        1,
        1024,
        0,
        kernels
            .args()
            .ptr(t(logits))
            .i32(logits.cols())
            .ptr(base)
            .ptr(uniformAt)
            .ptr(tokensAt)
            .ptr(logprobsAt));
    try (DoublePointer lp = new DoublePointer(rows);
        IntPointer ids = new IntPointer(rows)) {
      toHost(lp, logprobsAt, 8L * rows, "sampled logprobs");
      toHost(ids, tokensAt, 4L * rows, "sampled tokens");
      lp.get(logprobs, 0, rows);
      ids.get(tokens, 0, rows);
    }
  }

  // ---- optimizer ----

  @Override
  public synchronized void adamw(
      Tensor param,
      Tensor grad,
      Tensor m,
      Tensor v,
      float gradScale,
      float lr,
      float beta1,
      float beta2,
      float eps,
      float weightDecay,
      int step) {
    Tensor.requireShape("AdamW gradient", grad, param.rows(), param.cols());
    Tensor.requireShape("AdamW first moment", m, param.rows(), param.cols());
    Tensor.requireShape("AdamW second moment", v, param.rows(), param.cols());
    long n = param.size();
    if (n == 0) {
      return;
    }
    kernels.launch(
        "adamw",
        Kernels.gridFor(n, BLOCK),
        1,
        1,
        BLOCK,
        0,
        kernels
            .args()
            .ptr(t(param))
            .ptr(t(grad))
            .ptr(t(m))
            .ptr(t(v))
            .i64(n)
            .f32(gradScale)
            .f32(lr)
            .f32(beta1)
            .f32(beta2)
            .f32(eps)
            .f32(weightDecay)
            .f64(1 - Math.pow(beta1, step))
            .f64(1 - Math.pow(beta2, step)));
  }
}
