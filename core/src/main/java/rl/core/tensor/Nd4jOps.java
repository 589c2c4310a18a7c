package rl.core.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link Ops} on the CPU: matrix products through ND4J (OpenBLAS), everything elementwise as Java
 * loops over row-sized bulk copies of ND4J's native buffers. Float32 storage; reductions that
 * decide numerical quality (norms, log-sum-exp) accumulate in double.
 *
 * <p>Not thread-safe: one model runs on one compute thread.
 */
public final class Nd4jOps implements Ops {
  /** Cap on the logits scratch of the output head, in floats (64 MiB). */
  static final int LOGITS_CHUNK_FLOATS = 1 << 24;

  private static final MMulTranspose[] TRANSPOSES = {
    MMulTranspose.allFalse(),
    MMulTranspose.builder().transposeB(true).build(),
    MMulTranspose.builder().transposeA(true).build(),
    MMulTranspose.builder().transposeA(true).transposeB(true).build()
  };

  private static Nd4jTensor t(Tensor tensor) {
    return (Nd4jTensor) tensor;
  }

  private static INDArray a(Tensor tensor) {
    return ((Nd4jTensor) tensor).array;
  }

  // ---- memory ----

  @Override
  public Tensor zeros(int rows, int cols) {
    return new Nd4jTensor(Nd4j.zeros(DataType.FLOAT, rows, cols));
  }

  @Override
  public Tensor upload(float[] data, int rows, int cols) {
    if (data.length != (long) rows * cols) {
      throw new IllegalArgumentException(
          data.length + " values for a [" + rows + ", " + cols + "] tensor");
    }
    return new Nd4jTensor(Nd4j.create(data, new long[] {rows, cols}, 'c'));
  }

  @Override
  public float[] download(Tensor tensor) {
    Nd4jTensor x = t(tensor);
    float[] out = new float[Math.toIntExact(x.size())];
    for (int r = 0; r < x.rows(); r++) {
      x.read(r, 0, out, r * x.cols(), x.cols());
    }
    return out;
  }

  @Override
  public Tensor rows(Tensor tensor, int start, int count) {
    if (start < 0 || count < 0 || start + count > tensor.rows()) {
      throw new IndexOutOfBoundsException(
          "rows [" + start + ", " + (start + count) + ") of " + tensor.shapeString());
    }
    if (start == 0 && count == tensor.rows()) {
      return tensor;
    }
    INDArray view = a(tensor).get(NDArrayIndex.interval(start, start + count), NDArrayIndex.all());
    if (view.rank() != 2) {
      throw new IllegalStateException("ND4J returned a rank-" + view.rank() + " row view");
    }
    return new Nd4jTensor(view);
  }

  @Override
  public void fill(Tensor tensor, float value) {
    a(tensor).assign(value);
  }

  @Override
  public void copy(Tensor dst, Tensor src) {
    Tensor.requireShape("copy destination", dst, src.rows(), src.cols());
    a(dst).assign(a(src));
  }

  @Override
  public void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
    Nd4jTensor d = t(dst);
    Nd4jTensor s = t(src);
    float[] row = new float[s.cols()];
    for (int i = 0; i < dstRows.length; i++) {
      s.readRow(i, row);
      d.writeRow(dstRows[i], row);
    }
  }

  @Override
  public void copyColumns(Tensor out, Tensor in, int first) {
    Tensor.requireColumnBlock(out, in, first);
    Nd4jTensor o = t(out);
    Nd4jTensor i = t(in);
    float[] row = new float[out.cols()];
    for (int r = 0; r < out.rows(); r++) {
      i.read(r, first, row, 0, row.length);
      o.writeRow(r, row);
    }
  }

  // ---- linear algebra ----

  @Override
  public void gemm(
      Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float alpha, float beta) {
    gemm(a(out), a(a), transA, a(b), transB, alpha, beta);
  }

  private static void gemm(
      INDArray out,
      INDArray a,
      boolean transA,
      INDArray b,
      boolean transB,
      double alpha,
      double beta) {
    Tensor.requireProductShapes(
        a.rows(), a.columns(), transA, b.rows(), b.columns(), transB, out.rows(), out.columns());
    long m = out.rows();
    long n = out.columns();
    long k = transA ? a.rows() : a.columns();
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      if (beta == 0) {
        out.assign(0);
      } else {
        out.muli(beta);
      }
      return;
    }
    if (m == 1) {
      // One output row (decoding a single sequence, LoRA's rank-1 factors): a matrix-vector
      // product straight through OpenBLAS. ND4J's matrix product costs ~85 µs a call whatever the
      // size, sgemv ~7 µs for a 256 × 704 weight (BENCHMARKS.md).
      gemv(out, a, transA, b, transB, (float) alpha, (float) beta, (int) k, (int) n);
      return;
    }
    Nd4j.exec(new Mmul(a, b, out, alpha, beta, TRANSPOSES[(transA ? 2 : 0) + (transB ? 1 : 0)]));
  }

  /**
   * {@code out [1, n] = alpha · op(a) [1, k] · op(b) [k, n] + beta · out} as one sgemv on the
   * arrays' native memory (a view's buffer address already includes its offset).
   */
  private static void gemv(
      INDArray out,
      INDArray a,
      boolean transA,
      INDArray b,
      boolean transB,
      float alpha,
      float beta,
      int k,
      int n) {
    // x: a's single row, or its single column (stride = the row stride) when transposed.
    int incx = transA && a.rows() > 1 ? Math.toIntExact(a.stride(0)) : 1;
    int ldb = b.rows() > 1 ? Math.toIntExact(b.stride(0)) : (int) b.columns();
    FloatPointer x = new FloatPointer(a.data().addressPointer());
    FloatPointer y = new FloatPointer(out.data().addressPointer());
    FloatPointer w = new FloatPointer(b.data().addressPointer());
    if (transB) {
      // b is [n, k]: out = b · x
      openblas_nolapack.cblas_sgemv(
          openblas_nolapack.CblasRowMajor,
          openblas_nolapack.CblasNoTrans,
          n,
          k,
          alpha,
          w,
          ldb,
          x,
          incx,
          beta,
          y,
          1);
    } else {
      // b is [k, n]: out = bᵀ · x
      openblas_nolapack.cblas_sgemv(
          openblas_nolapack.CblasRowMajor,
          openblas_nolapack.CblasTrans,
          k,
          n,
          alpha,
          w,
          ldb,
          x,
          incx,
          beta,
          y,
          1);
    }
  }

  @Override
  public void axpy(Tensor acc, Tensor x, float scale) {
    Tensor.requireShape("axpy accumulator", acc, x.rows(), x.cols());
    Nd4jTensor y = t(acc);
    Nd4jTensor xs = t(x);
    float[] yr = new float[x.cols()];
    float[] xr = new float[x.cols()];
    for (int r = 0; r < x.rows(); r++) {
      y.readRow(r, yr);
      xs.readRow(r, xr);
      for (int c = 0; c < xr.length; c++) {
        yr[c] += scale * xr[c];
      }
      y.writeRow(r, yr);
    }
  }

  @Override
  public void addBias(Tensor x, Tensor bias) {
    Tensor.requireShape("bias", bias, 1, x.cols());
    Nd4jTensor xs = t(x);
    float[] b = download(bias);
    float[] row = new float[x.cols()];
    for (int r = 0; r < x.rows(); r++) {
      xs.readRow(r, row);
      for (int c = 0; c < row.length; c++) {
        row[c] += b[c];
      }
      xs.writeRow(r, row);
    }
  }

  @Override
  public void sumRowsInto(Tensor acc, Tensor x) {
    Tensor.requireShape("bias gradient", acc, 1, x.cols());
    Nd4jTensor xs = t(x);
    double[] sum = new double[x.cols()];
    float[] row = new float[x.cols()];
    for (int r = 0; r < x.rows(); r++) {
      xs.readRow(r, row);
      for (int c = 0; c < row.length; c++) {
        sum[c] += row[c];
      }
    }
    Nd4jTensor out = t(acc);
    out.readRow(0, row);
    for (int c = 0; c < row.length; c++) {
      row[c] += (float) sum[c];
    }
    out.writeRow(0, row);
  }

  @Override
  public double sumOfSquares(Tensor tensor) {
    Nd4jTensor x = t(tensor);
    float[] row = new float[x.cols()];
    double sum = 0;
    for (int r = 0; r < x.rows(); r++) {
      x.readRow(r, row);
      for (float v : row) {
        sum += (double) v * v;
      }
    }
    return sum;
  }

  // ---- normalisation, position, activation ----

  @Override
  public void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, int width, float eps) {
    int groups = x.cols() / width;
    Tensor.requireShape("rmsnorm output", out, x.rows(), x.cols());
    Tensor.requireShape("rmsnorm rstd", rstd, x.rows(), groups);
    Tensor.requireShape("rmsnorm weight", weight, 1, width);
    Nd4jTensor xs = t(x);
    Nd4jTensor os = t(out);
    Nd4jTensor rs = t(rstd);
    float[] w = download(weight);
    float[] row = new float[x.cols()];
    float[] r = new float[groups];
    for (int n = 0; n < x.rows(); n++) {
      xs.readRow(n, row);
      for (int g = 0; g < groups; g++) {
        double ss = 0;
        for (int i = g * width; i < (g + 1) * width; i++) {
          ss += (double) row[i] * row[i];
        }
        double inv = 1.0 / Math.sqrt(ss / width + eps);
        r[g] = (float) inv;
        for (int i = 0; i < width; i++) {
          row[g * width + i] = (float) (row[g * width + i] * inv) * w[i];
        }
      }
      os.writeRow(n, row);
      rs.writeRow(n, r);
    }
  }

  @Override
  public void rmsnormBackward(
      Tensor dx, Tensor dweight, Tensor dout, Tensor x, Tensor weight, Tensor rstd, int width) {
    int groups = x.cols() / width;
    Nd4jTensor xs = t(x);
    Nd4jTensor dys = t(dout);
    Nd4jTensor dxs = t(dx);
    Nd4jTensor rs = t(rstd);
    float[] w = download(weight);
    double[] dw = dweight == null ? null : new double[width];
    float[] xr = new float[x.cols()];
    float[] dyr = new float[x.cols()];
    float[] dxr = new float[x.cols()];
    float[] r = new float[groups];
    for (int n = 0; n < x.rows(); n++) {
      xs.readRow(n, xr);
      dys.readRow(n, dyr);
      dxs.readRow(n, dxr);
      rs.readRow(n, r);
      for (int g = 0; g < groups; g++) {
        int base = g * width;
        double inv = r[g];
        // y_i = x_i · inv · w_i, inv = (mean(x²) + eps)^(-1/2)
        // dx_i = inv · w_i · dy_i − inv³ / width · x_i · Σ_j dy_j w_j x_j
        double dot = 0;
        for (int i = 0; i < width; i++) {
          dot += (double) dyr[base + i] * w[i] * xr[base + i];
          if (dw != null) {
            dw[i] += (double) dyr[base + i] * xr[base + i] * inv;
          }
        }
        double k = inv * inv * inv * dot / width;
        for (int i = 0; i < width; i++) {
          dxr[base + i] += (float) (inv * w[i] * dyr[base + i] - k * xr[base + i]);
        }
      }
      dxs.writeRow(n, dxr);
    }
    if (dw != null) {
      Nd4jTensor dws = t(dweight);
      float[] acc = new float[width];
      dws.readRow(0, acc);
      for (int i = 0; i < width; i++) {
        acc[i] += (float) dw[i];
      }
      dws.writeRow(0, acc);
    }
  }

  @Override
  public void rope(
      Tensor x, int headSize, int[] positions, Tensor cos, Tensor sin, boolean inverse) {
    int half = headSize / 2;
    int heads = x.cols() / headSize;
    Nd4jTensor xs = t(x);
    Nd4jTensor cs = t(cos);
    Nd4jTensor ss = t(sin);
    float[] row = new float[x.cols()];
    float[] c = new float[half];
    float[] s = new float[half];
    float sign = inverse ? -1f : 1f;
    for (int n = 0; n < x.rows(); n++) {
      xs.readRow(n, row);
      cs.readRow(positions[n], c);
      ss.readRow(positions[n], s);
      for (int h = 0; h < heads; h++) {
        int base = h * headSize;
        for (int i = 0; i < half; i++) {
          float a = row[base + i];
          float b = row[base + half + i];
          float sn = sign * s[i];
          row[base + i] = a * c[i] - b * sn;
          row[base + half + i] = b * c[i] + a * sn;
        }
      }
      xs.writeRow(n, row);
    }
  }

  @Override
  public void swiglu(Tensor out, Tensor gate, Tensor up) {
    Nd4jTensor gs = t(gate);
    Nd4jTensor us = t(up);
    Nd4jTensor os = t(out);
    float[] g = new float[gate.cols()];
    float[] u = new float[gate.cols()];
    for (int n = 0; n < gate.rows(); n++) {
      gs.readRow(n, g);
      us.readRow(n, u);
      for (int i = 0; i < g.length; i++) {
        float sigmoid = (float) (1.0 / (1.0 + Math.exp(-g[i])));
        u[i] = g[i] * sigmoid * u[i];
      }
      os.writeRow(n, u);
    }
  }

  @Override
  public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    Nd4jTensor gs = t(gate);
    Nd4jTensor us = t(up);
    Nd4jTensor dos = t(dout);
    float[] g = new float[gate.cols()];
    float[] u = new float[gate.cols()];
    float[] d = new float[gate.cols()];
    float[] dg = new float[gate.cols()];
    for (int n = 0; n < gate.rows(); n++) {
      gs.readRow(n, g);
      us.readRow(n, u);
      dos.readRow(n, d);
      for (int i = 0; i < g.length; i++) {
        double sigmoid = 1.0 / (1.0 + Math.exp(-g[i]));
        double silu = g[i] * sigmoid;
        // d silu(g) / dg = σ(g) · (1 + g · (1 − σ(g)))
        dg[i] = (float) (d[i] * u[i] * sigmoid * (1 + g[i] * (1 - sigmoid)));
        u[i] = (float) (d[i] * silu);
      }
      t(dgate).writeRow(n, dg);
      t(dup).writeRow(n, u);
    }
  }

  @Override
  public void embedding(Tensor out, Tensor table, int[] ids) {
    Nd4jTensor ts = t(table);
    Nd4jTensor os = t(out);
    float[] row = new float[table.cols()];
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
      ts.readRow(ids[n], row);
      os.writeRow(n, row);
    }
  }

  @Override
  public void embeddingBackward(Tensor dtable, Tensor dout, int[] ids) {
    Nd4jTensor ts = t(dtable);
    Nd4jTensor ds = t(dout);
    float[] acc = new float[dtable.cols()];
    float[] d = new float[dtable.cols()];
    for (int n = 0; n < ids.length; n++) {
      ts.readRow(ids[n], acc);
      ds.readRow(n, d);
      for (int c = 0; c < d.length; c++) {
        acc[c] += d[c];
      }
      ts.writeRow(ids[n], acc);
    }
  }

  // ---- attention ----

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
    float scale = (float) (1.0 / Math.sqrt(headSize));
    int group = numHeads / numKvHeads;
    for (int s = 0; s < batch.sequences(); s++) {
      int nq = batch.queryCount()[s];
      if (nq == 0) {
        continue;
      }
      if (nq == 1) {
        attendOneQuery(out, lse, q, k, v, batch, s, numHeads, group, headSize, scale);
        continue;
      }
      int q0 = batch.queryStart()[s];
      int k0 = batch.keyStart()[s];
      int nk = batch.keyCount()[s];
      Tensor keys = k;
      Tensor values = v;
      if (batch.prefixCount()[s] > 0) {
        // the sequence's keys gathered into one block (its prefix rows, then its own)
        keys = gatherKeys(k, batch, s);
        values = gatherKeys(v, batch, s);
        k0 = 0;
      }
      INDArray scores = Nd4j.createUninitialized(DataType.FLOAT, nq, nk);
      Nd4jTensor p = new Nd4jTensor(scores);
      float[] row = new float[nk];
      for (int h = 0; h < numHeads; h++) {
        int kh = h / group;
        INDArray qh = headView(q, q0, nq, h, headSize);
        INDArray kh_ = headView(keys, k0, nk, kh, headSize);
        INDArray vh = headView(values, k0, nk, kh, headSize);
        // scores [nq, nk] = scale · q_h · k_hᵀ
        gemm(scores, qh, false, kh_, true, scale, 0);
        for (int i = 0; i < nq; i++) {
          int visible = nk - nq + i + 1;
          p.readRow(i, row);
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < visible; j++) {
            max = Math.max(max, row[j]);
          }
          double sum = 0;
          for (int j = 0; j < visible; j++) {
            sum += Math.exp(row[j] - max);
          }
          double logSum = max + Math.log(sum);
          for (int j = 0; j < nk; j++) {
            row[j] = j < visible ? (float) Math.exp(row[j] - logSum) : 0f;
          }
          p.writeRow(i, row);
          t(lse).set(q0 + i, h, (float) logSum);
        }
        // out_h [nq, HS] = P · v_h
        gemm(headView(out, q0, nq, h, headSize), scores, false, vh, false, 1, 0);
      }
    }
  }

  /** Backward passes run over training batches, which never share a prefix. */
  static void requireNoPrefixes(AttentionBatch batch, String op) {
    if (batch.hasPrefixes()) {
      throw new IllegalArgumentException(
          op + ": a batch whose sequences read a shared key prefix (only decoding does)");
    }
  }

  /** Sequence s's keys (or values) {@code [keyCount, cols]} copied out in order, prefix first. */
  private Tensor gatherKeys(Tensor k, AttentionBatch batch, int s) {
    int nk = batch.keyCount()[s];
    Tensor gathered = zeros(nk, k.cols());
    float[] row = new float[k.cols()];
    for (int j = 0; j < nk; j++) {
      t(k).readRow(batch.keyRow(s, j), row);
      t(gathered).writeRow(j, row);
    }
    return gathered;
  }

  /** One new token attending to its sequence's keys: plain loops, cheaper than small GEMMs. */
  private static void attendOneQuery(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int s,
      int numHeads,
      int group,
      int headSize,
      float scale) {
    int qRow = batch.queryStart()[s];
    int nk = batch.keyCount()[s];
    float[] qr = new float[q.cols()];
    t(q).readRow(qRow, qr);
    float[] keyRow = new float[k.cols()];
    double[] scores = new double[numHeads * nk];
    for (int j = 0; j < nk; j++) {
      t(k).readRow(batch.keyRow(s, j), keyRow);
      for (int h = 0; h < numHeads; h++) {
        int qb = h * headSize;
        int kb = (h / group) * headSize;
        double dot = 0;
        for (int c = 0; c < headSize; c++) {
          dot += qr[qb + c] * keyRow[kb + c];
        }
        scores[h * nk + j] = dot * scale;
      }
    }
    double[] acc = new double[q.cols()];
    float[] valueRow = new float[v.cols()];
    for (int h = 0; h < numHeads; h++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < nk; j++) {
        max = Math.max(max, scores[h * nk + j]);
      }
      double sum = 0;
      for (int j = 0; j < nk; j++) {
        double e = Math.exp(scores[h * nk + j] - max);
        scores[h * nk + j] = e;
        sum += e;
      }
      for (int j = 0; j < nk; j++) {
        scores[h * nk + j] /= sum;
      }
      t(lse).set(qRow, h, (float) (max + Math.log(sum)));
    }
    for (int j = 0; j < nk; j++) {
      t(v).readRow(batch.keyRow(s, j), valueRow);
      for (int h = 0; h < numHeads; h++) {
        double pj = scores[h * nk + j];
        int ob = h * headSize;
        int vb = (h / group) * headSize;
        for (int c = 0; c < headSize; c++) {
          acc[ob + c] += pj * valueRow[vb + c];
        }
      }
    }
    float[] result = new float[q.cols()];
    for (int c = 0; c < result.length; c++) {
      result[c] = (float) acc[c];
    }
    t(out).writeRow(qRow, result);
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
    requireNoPrefixes(batch, "attentionBackward");
    float scale = (float) (1.0 / Math.sqrt(headSize));
    int group = numHeads / numKvHeads;
    for (int s = 0; s < batch.sequences(); s++) {
      int nq = batch.queryCount()[s];
      if (nq == 0) {
        continue;
      }
      int q0 = batch.queryStart()[s];
      int k0 = batch.keyStart()[s];
      int nk = batch.keyCount()[s];
      Nd4jTensor probs = new Nd4jTensor(Nd4j.createUninitialized(DataType.FLOAT, nq, nk));
      Nd4jTensor dprobs = new Nd4jTensor(Nd4j.createUninitialized(DataType.FLOAT, nq, nk));
      float[] pr = new float[nk];
      float[] dpr = new float[nk];
      float[] dor = new float[headSize];
      float[] or = new float[headSize];
      for (int h = 0; h < numHeads; h++) {
        int kh = h / group;
        INDArray qh = headView(q, q0, nq, h, headSize);
        INDArray kh_ = headView(k, k0, nk, kh, headSize);
        INDArray vh = headView(v, k0, nk, kh, headSize);
        INDArray doh = headView(dout, q0, nq, h, headSize);
        // Recompute P = exp(scale · q kᵀ − lse), masked; dP = dO · vᵀ.
        gemm(probs.array, qh, false, kh_, true, scale, 0);
        gemm(dprobs.array, doh, false, vh, true, 1, 0);
        for (int i = 0; i < nq; i++) {
          int visible = nk - nq + i + 1;
          float logSum = t(lse).get(q0 + i, h);
          probs.readRow(i, pr);
          dprobs.readRow(i, dpr);
          // D_i = Σ_c dO[i,c] · O[i,c] equals Σ_j P_ij dP_ij.
          t(dout).read(q0 + i, h * headSize, dor, 0, headSize);
          t(out).read(q0 + i, h * headSize, or, 0, headSize);
          double d = 0;
          for (int c = 0; c < headSize; c++) {
            d += (double) dor[c] * or[c];
          }
          for (int j = 0; j < nk; j++) {
            float p = j < visible ? (float) Math.exp(pr[j] - logSum) : 0f;
            pr[j] = p;
            // dS = P ∘ (dP − D): the softmax backward.
            dpr[j] = (float) (p * (dpr[j] - d));
          }
          probs.writeRow(i, pr);
          dprobs.writeRow(i, dpr);
        }
        // dq_h += scale · dS · k_h ; dk_h += scale · dSᵀ · q_h ; dv_h += Pᵀ · dO_h
        gemm(headView(dq, q0, nq, h, headSize), dprobs.array, false, kh_, false, scale, 1);
        gemm(headView(dk, k0, nk, kh, headSize), dprobs.array, true, qh, false, scale, 1);
        gemm(headView(dv, k0, nk, kh, headSize), probs.array, true, doh, false, 1, 1);
      }
    }
  }

  /** Rows [row0, row0 + count) and head {@code head}'s columns of a [N, heads·HS] tensor. */
  private static INDArray headView(Tensor x, int row0, int count, int head, int headSize) {
    return a(x).get(
            NDArrayIndex.interval(row0, row0 + count),
            NDArrayIndex.interval((long) head * headSize, (long) (head + 1) * headSize));
  }

  // ---- output head ----

  private static int chunkRows(int vocab) {
    return Math.max(1, LOGITS_CHUNK_FLOATS / vocab);
  }

  @Override
  public void targetLogprobs(
      float[] out, Tensor hidden, Tensor head, int[] targets, float temperature) {
    int vocab = head.rows();
    int chunk = Math.min(chunkRows(vocab), Math.max(1, hidden.rows()));
    INDArray logits = Nd4j.createUninitialized(DataType.FLOAT, chunk, vocab);
    float[] row = new float[vocab];
    for (int start = 0; start < hidden.rows(); start += chunk) {
      int count = Math.min(chunk, hidden.rows() - start);
      INDArray block =
          count == chunk ? logits : logits.get(NDArrayIndex.interval(0, count), NDArrayIndex.all());
      // logits [count, V] = hidden rows · headᵀ / T
      gemm(block, a(rows(hidden, start, count)), false, a(head), true, 1.0 / temperature, 0);
      Nd4jTensor lt = new Nd4jTensor(block);
      for (int i = 0; i < count; i++) {
        int target = targets[start + i];
        if (target < 0) {
          out[start + i] = 0;
          continue;
        }
        lt.readRow(i, row);
        out[start + i] = (float) (row[target] - logSumExp(row));
      }
    }
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
    int vocab = head.rows();
    int chunk = Math.min(chunkRows(vocab), Math.max(1, hidden.rows()));
    INDArray logits = Nd4j.createUninitialized(DataType.FLOAT, chunk, vocab);
    float[] row = new float[vocab];
    double invT = 1.0 / temperature;
    for (int start = 0; start < hidden.rows(); start += chunk) {
      int count = Math.min(chunk, hidden.rows() - start);
      INDArray block =
          count == chunk ? logits : logits.get(NDArrayIndex.interval(0, count), NDArrayIndex.all());
      INDArray hiddenRows = a(rows(hidden, start, count));
      gemm(block, hiddenRows, false, a(head), true, invT, 0);
      Nd4jTensor lt = new Nd4jTensor(block);
      for (int i = 0; i < count; i++) {
        int target = targets[start + i];
        double g = target < 0 ? 0 : dlogprob[start + i];
        if (g == 0) {
          java.util.Arrays.fill(row, 0f);
          lt.writeRow(i, row);
          continue;
        }
        lt.readRow(i, row);
        double lse = logSumExp(row);
        // d logprob / d raw_logit_v = (1[v = target] − p_v) / T
        for (int v = 0; v < vocab; v++) {
          row[v] = (float) (-g * Math.exp(row[v] - lse) * invT);
        }
        row[target] += (float) (g * invT);
        lt.writeRow(i, row);
      }
      gemm(a(rows(dhidden, start, count)), block, false, a(head), false, 1, 1);
      if (dhead != null) {
        gemm(a(dhead), block, true, hiddenRows, false, 1, 1);
      }
    }
  }

  private static double logSumExp(float[] row) {
    double max = Double.NEGATIVE_INFINITY;
    for (float x : row) {
      max = Math.max(max, x);
    }
    double sum = 0;
    for (float x : row) {
      sum += Math.exp(x - max);
    }
    return max + Math.log(sum);
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
    Tensor.requireShape("AdamW gradient", grad, param.rows(), param.cols());
    Tensor.requireShape("AdamW first moment", m, param.rows(), param.cols());
    Tensor.requireShape("AdamW second moment", v, param.rows(), param.cols());
    double correction1 = 1 - Math.pow(beta1, step);
    double correction2 = 1 - Math.pow(beta2, step);
    int cols = param.cols();
    float[] p = new float[cols];
    float[] g = new float[cols];
    float[] mr = new float[cols];
    float[] vr = new float[cols];
    for (int r = 0; r < param.rows(); r++) {
      t(param).readRow(r, p);
      t(grad).readRow(r, g);
      t(m).readRow(r, mr);
      t(v).readRow(r, vr);
      for (int c = 0; c < cols; c++) {
        double gc = (double) g[c] * gradScale;
        mr[c] = (float) (beta1 * mr[c] + (1 - beta1) * gc);
        vr[c] = (float) (beta2 * vr[c] + (1 - beta2) * gc * gc);
        double update = (mr[c] / correction1) / (Math.sqrt(vr[c] / correction2) + eps);
        p[c] = (float) (p[c] - lr * weightDecay * p[c] - lr * update);
      }
      t(param).writeRow(r, p);
      t(m).writeRow(r, mr);
      t(v).writeRow(r, vr);
    }
  }

  @Override
  public void logits(Tensor out, Tensor hidden, Tensor head, float temperature) {
    gemm(a(out), a(hidden), false, a(head), true, 1.0 / temperature, 0);
  }
}
