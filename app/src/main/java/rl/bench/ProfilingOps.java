package rl.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import rl.core.tensor.AttentionBatch;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * An {@link Ops} that forwards every call to another backend and adds up the wall time spent in
 * each kernel, so a benchmark can say where a phase's time goes. The cost is two {@code
 * System.nanoTime()} calls per kernel call. Time outside any kernel (the model's Java glue) is what
 * a phase took minus {@link #totalNanos()}.
 */
public final class ProfilingOps implements Ops {
  /** The kernels timed, one counter each. */
  public enum Kernel {
    ZEROS,
    UPLOAD,
    DOWNLOAD,
    ROWS,
    FILL,
    COPY,
    SCATTER_ROWS,
    COPY_COLUMNS,
    /** Matrix products whose inner or output width is at least 9: the model's projections. */
    GEMM,
    /** Matrix products of inner or output width up to 8: LoRA's rank-r factors. */
    GEMM_SKINNY,
    AXPY,
    ADD_BIAS,
    SUM_ROWS_INTO,
    SUM_OF_SQUARES,
    RMSNORM,
    RMSNORM_BACKWARD,
    ROPE,
    SWIGLU,
    SWIGLU_BACKWARD,
    EMBEDDING,
    EMBEDDING_BACKWARD,
    ATTENTION,
    ATTENTION_BACKWARD,
    TARGET_LOGPROBS,
    TARGET_LOGPROBS_BACKWARD,
    LOGITS,
    ADAMW
  }

  /** Time and calls of one kernel over a measured span. */
  public record Entry(Kernel kernel, long nanos, long calls) {}

  /** Widths up to this count as LoRA-sized in {@link Kernel#GEMM_SKINNY}. */
  private static final int SKINNY = 8;

  private final Ops ops;
  private final long[] nanos = new long[Kernel.values().length];
  private final long[] calls = new long[Kernel.values().length];

  public ProfilingOps(Ops ops) {
    this.ops = ops;
  }

  /** Clears every counter. */
  public void reset() {
    java.util.Arrays.fill(nanos, 0);
    java.util.Arrays.fill(calls, 0);
  }

  public long totalNanos() {
    long sum = 0;
    for (long n : nanos) {
      sum += n;
    }
    return sum;
  }

  /** Kernels that were called since the last reset, most time first. */
  public List<Entry> entries() {
    List<Entry> all = new ArrayList<>();
    for (Kernel k : Kernel.values()) {
      if (calls[k.ordinal()] > 0) {
        all.add(new Entry(k, nanos[k.ordinal()], calls[k.ordinal()]));
      }
    }
    all.sort(Comparator.comparingLong(Entry::nanos).reversed());
    return all;
  }

  private void add(Kernel kernel, long start) {
    nanos[kernel.ordinal()] += System.nanoTime() - start;
    calls[kernel.ordinal()]++;
  }

  @Override
  public Tensor zeros(int rows, int cols) {
    long t = System.nanoTime();
    Tensor r = ops.zeros(rows, cols);
    add(Kernel.ZEROS, t);
    return r;
  }

  @Override
  public Tensor upload(float[] data, int rows, int cols) {
    long t = System.nanoTime();
    Tensor r = ops.upload(data, rows, cols);
    add(Kernel.UPLOAD, t);
    return r;
  }

  // Storage choices and recorded steps are the wrapped backend's: forwarded, or a backend that
  // keeps weights in bf16 would see them uploaded in float32 and lose its graph replays.

  @Override
  public Tensor uploadWeight(float[] data, int rows, int cols) {
    long t = System.nanoTime();
    Tensor r = ops.uploadWeight(data, rows, cols);
    add(Kernel.UPLOAD, t);
    return r;
  }

  @Override
  public Tensor zerosCache(int rows, int cols) {
    long t = System.nanoTime();
    Tensor r = ops.zerosCache(rows, cols);
    add(Kernel.ZEROS, t);
    return r;
  }

  @Override
  public boolean reducedPrecision(Tensor tensor) {
    return ops.reducedPrecision(tensor);
  }

  @Override
  public void write(Tensor dst, float[] data) {
    long t = System.nanoTime();
    ops.write(dst, data);
    add(Kernel.UPLOAD, t);
  }

  @Override
  public void replayable(Object key, Runnable step) {
    ops.replayable(key, step);
  }

  @Override
  public float[] download(Tensor tensor) {
    long t = System.nanoTime();
    float[] r = ops.download(tensor);
    add(Kernel.DOWNLOAD, t);
    return r;
  }

  @Override
  public Tensor rows(Tensor tensor, int start, int count) {
    long t = System.nanoTime();
    Tensor r = ops.rows(tensor, start, count);
    add(Kernel.ROWS, t);
    return r;
  }

  @Override
  public void fill(Tensor tensor, float value) {
    long t = System.nanoTime();
    ops.fill(tensor, value);
    add(Kernel.FILL, t);
  }

  @Override
  public void copy(Tensor dst, Tensor src) {
    long t = System.nanoTime();
    ops.copy(dst, src);
    add(Kernel.COPY, t);
  }

  @Override
  public void copyAll(List<Tensor> dst, List<Tensor> src) {
    long t = System.nanoTime();
    ops.copyAll(dst, src);
    add(Kernel.COPY, t);
  }

  @Override
  public CopyPlan planCopies(List<Tensor> dst, List<Tensor> src) {
    CopyPlan plan = ops.planCopies(dst, src);
    return () -> {
      long t = System.nanoTime();
      plan.run();
      add(Kernel.COPY, t);
    };
  }

  @Override
  public List<Tensor> allocateLike(List<Tensor> like) {
    long t = System.nanoTime();
    List<Tensor> out = ops.allocateLike(like);
    add(Kernel.ZEROS, t);
    return out;
  }

  @Override
  public void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
    long t = System.nanoTime();
    ops.scatterRows(dst, dstRows, src);
    add(Kernel.SCATTER_ROWS, t);
  }

  @Override
  public void copyColumns(Tensor out, Tensor in, int first) {
    long t = System.nanoTime();
    ops.copyColumns(out, in, first);
    add(Kernel.COPY_COLUMNS, t);
  }

  @Override
  public void gemm(
      Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float alpha, float beta) {
    long t = System.nanoTime();
    ops.gemm(out, a, transA, b, transB, alpha, beta);
    int inner = transA ? a.rows() : a.cols();
    add(inner <= SKINNY || out.cols() <= SKINNY ? Kernel.GEMM_SKINNY : Kernel.GEMM, t);
  }

  @Override
  public void loraBackward(
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
    long t = System.nanoTime();
    ops.loraBackward(dx, du, dA, dB, dy, x, u, a, b, scale);
    add(Kernel.GEMM_SKINNY, t); // what it was before it had its own method
  }

  @Override
  public void loraForward(Tensor y, Tensor u, Tensor x, Tensor a, Tensor b, float scale) {
    long t = System.nanoTime();
    ops.loraForward(y, u, x, a, b, scale);
    add(Kernel.GEMM_SKINNY, t); // as loraBackward
  }

  @Override
  public void loraUp(Tensor y, Tensor u, Tensor b, float scale) {
    long t = System.nanoTime();
    ops.loraUp(y, u, b, scale);
    add(Kernel.GEMM_SKINNY, t);
  }

  @Override
  public void loraUps(List<Tensor> ys, List<Tensor> us, List<Tensor> bs, float[] scales) {
    long t = System.nanoTime();
    ops.loraUps(ys, us, bs, scales);
    add(Kernel.GEMM_SKINNY, t);
  }

  @Override
  public Tensor productOperand(Tensor x) {
    long t = System.nanoTime();
    Tensor converted = ops.productOperand(x);
    add(Kernel.GEMM, t); // the conversion a product would otherwise do itself
    return converted;
  }

  @Override
  public void axpy(Tensor acc, Tensor x, float scale) {
    long t = System.nanoTime();
    ops.axpy(acc, x, scale);
    add(Kernel.AXPY, t);
  }

  @Override
  public void addBias(Tensor x, Tensor bias) {
    long t = System.nanoTime();
    ops.addBias(x, bias);
    add(Kernel.ADD_BIAS, t);
  }

  @Override
  public void sumRowsInto(Tensor acc, Tensor x) {
    long t = System.nanoTime();
    ops.sumRowsInto(acc, x);
    add(Kernel.SUM_ROWS_INTO, t);
  }

  @Override
  public double sumOfSquares(Tensor tensor) {
    long t = System.nanoTime();
    double r = ops.sumOfSquares(tensor);
    add(Kernel.SUM_OF_SQUARES, t);
    return r;
  }

  @Override
  public void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, int width, float eps) {
    long t = System.nanoTime();
    ops.rmsnorm(out, rstd, x, weight, width, eps);
    add(Kernel.RMSNORM, t);
  }

  @Override
  public void rmsnormBackward(
      Tensor dx, Tensor dweight, Tensor dout, Tensor x, Tensor weight, Tensor rstd, int width) {
    long t = System.nanoTime();
    ops.rmsnormBackward(dx, dweight, dout, x, weight, rstd, width);
    add(Kernel.RMSNORM_BACKWARD, t);
  }

  @Override
  public void rope(
      Tensor x, int headSize, int[] positions, Tensor cos, Tensor sin, boolean inverse) {
    long t = System.nanoTime();
    ops.rope(x, headSize, positions, cos, sin, inverse);
    add(Kernel.ROPE, t);
  }

  @Override
  public void ropeIntoCache(
      Tensor qkv,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor qBias,
      Tensor kBias,
      Tensor vBias,
      List<Tensor> loraYs,
      List<Tensor> loraUs,
      List<Tensor> loraBs,
      float[] loraScales,
      int headSize,
      int[] positions,
      Tensor cos,
      Tensor sin,
      Tensor keyCache,
      Tensor valueCache,
      int[] cacheRows) {
    long t = System.nanoTime();
    ops.ropeIntoCache(
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
    add(Kernel.ROPE, t);
  }

  @Override
  public void swiglu(Tensor out, Tensor gate, Tensor up) {
    long t = System.nanoTime();
    ops.swiglu(out, gate, up);
    add(Kernel.SWIGLU, t);
  }

  @Override
  public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    long t = System.nanoTime();
    ops.swigluBackward(dgate, dup, dout, gate, up);
    add(Kernel.SWIGLU_BACKWARD, t);
  }

  @Override
  public Tensor rmsnormForProduct(
      Tensor out,
      Tensor rstd,
      Tensor x,
      Tensor weight,
      float eps,
      List<Tensor> loraA,
      List<Tensor> loraU) {
    long t = System.nanoTime();
    Tensor product = ops.rmsnormForProduct(out, rstd, x, weight, eps, loraA, loraU);
    add(Kernel.RMSNORM, t);
    return product;
  }

  @Override
  public Tensor addRmsnormForProduct(
      Tensor sum,
      Tensor out,
      Tensor rstd,
      Tensor a,
      Tensor b,
      Tensor weight,
      float eps,
      List<Tensor> loraA,
      List<Tensor> loraU) {
    long t = System.nanoTime();
    Tensor product = ops.addRmsnormForProduct(sum, out, rstd, a, b, weight, eps, loraA, loraU);
    add(Kernel.RMSNORM, t);
    return product;
  }

  @Override
  public Tensor swigluForProduct(Tensor out, Tensor gate, Tensor up) {
    long t = System.nanoTime();
    Tensor product = ops.swigluForProduct(out, gate, up);
    add(Kernel.SWIGLU, t);
    return product;
  }

  @Override
  public Tensor swigluForProductWithLoraUps(
      Tensor out,
      Tensor gate,
      Tensor up,
      Tensor gateU,
      Tensor gateB,
      float gateScale,
      Tensor upU,
      Tensor upB,
      float upScale) {
    long t = System.nanoTime();
    Tensor product =
        ops.swigluForProductWithLoraUps(out, gate, up, gateU, gateB, gateScale, upU, upB, upScale);
    add(Kernel.SWIGLU, t);
    return product;
  }

  @Override
  public GatedPair swigluBackwardForProducts(
      Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    long t = System.nanoTime();
    GatedPair products = ops.swigluBackwardForProducts(dgate, dup, dout, gate, up);
    add(Kernel.SWIGLU_BACKWARD, t);
    return products;
  }

  @Override
  public void embedding(Tensor out, Tensor table, int[] ids) {
    long t = System.nanoTime();
    ops.embedding(out, table, ids);
    add(Kernel.EMBEDDING, t);
  }

  @Override
  public void embeddingBackward(Tensor dtable, Tensor dout, int[] ids) {
    long t = System.nanoTime();
    ops.embeddingBackward(dtable, dout, ids);
    add(Kernel.EMBEDDING_BACKWARD, t);
  }

  @Override
  public void attention(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    long t = System.nanoTime();
    ops.attention(out, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
    add(Kernel.ATTENTION, t);
  }

  @Override
  public Tensor attentionForProduct(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    long t = System.nanoTime();
    Tensor product =
        ops.attentionForProduct(out, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
    add(Kernel.ATTENTION, t);
    return product;
  }

  @Override
  public void attentionBackward(
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
    long t = System.nanoTime();
    ops.attentionBackward(
        dq, dk, dv, dout, out, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
    add(Kernel.ATTENTION_BACKWARD, t);
  }

  @Override
  public void targetLogprobs(
      float[] out, Tensor hidden, Tensor head, int[] targets, float temperature) {
    long t = System.nanoTime();
    ops.targetLogprobs(out, hidden, head, targets, temperature);
    add(Kernel.TARGET_LOGPROBS, t);
  }

  @Override
  public void targetLogprobsBackward(
      Tensor dhidden,
      Tensor dhead,
      float[] dlogprob,
      Tensor hidden,
      Tensor head,
      int[] targets,
      float temperature) {
    long t = System.nanoTime();
    ops.targetLogprobsBackward(dhidden, dhead, dlogprob, hidden, head, targets, temperature);
    add(Kernel.TARGET_LOGPROBS_BACKWARD, t);
  }

  @Override
  public void logits(Tensor out, Tensor hidden, Tensor head, float temperature) {
    long t = System.nanoTime();
    ops.logits(out, hidden, head, temperature);
    add(Kernel.LOGITS, t);
  }

  @Override
  public void adamw(
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
    long t = System.nanoTime();
    ops.adamw(param, grad, m, v, gradScale, lr, beta1, beta2, eps, weightDecay, step);
    add(Kernel.ADAMW, t);
  }
}
