package rl.cuda;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import rl.core.tensor.AttentionBatch;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Every {@link Ops} method on seeded random inputs, its outputs collected by name: run once on
 * {@code Nd4jOps} (the reference, saved with {@link #write}) and once on {@code CudaOps}, then
 * compared. Shapes are small but not round (odd widths, ragged sequences, GQA) so that indexing
 * mistakes show; the decode-shaped attention reads keys from a cache-like layout.
 */
final class OpsCases {
  private OpsCases() {}

  /** Runs every case on {@code ops}: output name → values. */
  static Map<String, float[]> run(Ops ops, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, float[]> out = new LinkedHashMap<>();

    // memory
    Tensor x = ops.upload(normal(random, 37 * 19), 37, 19);
    out.put("download", ops.download(x));
    out.put("rows", ops.download(ops.rows(x, 5, 11)));
    Tensor filled = ops.zeros(7, 9);
    ops.fill(filled, 1.25f);
    out.put("fill", ops.download(filled));
    Tensor copied = poisoned(ops, 37, 19);
    ops.copy(copied, x);
    out.put("copy", ops.download(copied));
    Tensor scattered = ops.zeros(40, 19);
    ops.scatterRows(scattered, new int[] {3, 0, 39, 17, 8}, ops.rows(x, 2, 5));
    out.put("scatterRows", ops.download(scattered));
    out.put("zeros", ops.download(ops.zeros(3, 5)));
    Tensor written = ops.zeros(37, 19);
    Tensor writtenView = ops.rows(written, 3, 10);
    ops.write(writtenView, normal(random, 10 * 19));
    out.put("write", ops.download(written));
    // an adapter sync's device half: a snapshot shaped like three tensors (one a row view), then
    // copied back over other tensors
    List<Tensor> sources =
        List.of(
            ops.upload(normal(random, 7), 1, 7),
            ops.rows(x, 30, 4),
            ops.upload(normal(random, 5), 5, 1));
    List<Tensor> snapshot = ops.allocateLike(sources);
    ops.copyAll(snapshot, sources);
    List<Tensor> copies = List.of(ops.zeros(1, 7), ops.zeros(4, 19), ops.zeros(5, 1));
    ops.copyAll(copies, snapshot);
    out.put("copyAll", downloadAll(ops, copies));
    // the same copies planned once and run twice, the sources changing in between
    List<Tensor> planned = List.of(ops.zeros(1, 7), ops.zeros(4, 19), ops.zeros(5, 1));
    Ops.CopyPlan plan = ops.planCopies(planned, snapshot);
    plan.run();
    ops.write(snapshot.get(0), normal(random, 7));
    ops.write(snapshot.get(2), normal(random, 5));
    plan.run();
    out.put("planCopies", downloadAll(ops, planned));

    // linear algebra: every transpose combination, alpha/beta, row views
    for (int variant = 0; variant < 4; variant++) {
      boolean ta = (variant & 2) != 0;
      boolean tb = (variant & 1) != 0;
      int m = 33;
      int k = 47;
      int n = 29;
      Tensor a = ops.upload(normal(random, m * k), ta ? k : m, ta ? m : k);
      Tensor b = ops.upload(normal(random, k * n), tb ? n : k, tb ? k : n);
      Tensor c = ops.upload(normal(random, m * n), m, n);
      ops.gemm(c, a, ta, b, tb, 0.75f, 0.5f);
      out.put("gemm" + (ta ? "T" : "N") + (tb ? "T" : "N"), ops.download(c));
    }
    Tensor big = ops.upload(normal(random, 20 * 13), 20, 13);
    Tensor w = ops.upload(normal(random, 13 * 6), 13, 6);
    Tensor view = ops.zeros(20, 6);
    ops.gemm(ops.rows(view, 4, 9), ops.rows(big, 4, 9), false, w, false, 1f, 0f);
    out.put("gemmRowViews", ops.download(view));
    // A product through productOperand (converted once, shared) equals the product of x itself,
    // also against a reduced-precision weight.
    Tensor narrowWeight = ops.uploadWeight(normal(random, 6 * 13), 6, 13);
    Tensor shared = ops.productOperand(big);
    Tensor viaShared = ops.zeros(20, 6);
    Tensor direct = ops.zeros(20, 6);
    ops.gemm(viaShared, shared, false, narrowWeight, true, 1f, 0f);
    ops.gemm(direct, big, false, narrowWeight, true, 1f, 0f);
    out.put("reduced.productOperand", ops.download(viaShared));
    ops.axpy(direct, viaShared, -1f);
    out.put("productOperandDifference", ops.download(direct));
    Tensor acc = ops.upload(normal(random, 37 * 19), 37, 19);
    ops.axpy(acc, x, -0.3f);
    out.put("axpy", ops.download(acc));
    Tensor bias = ops.upload(normal(random, 19), 1, 19);
    Tensor biased = ops.zeros(37, 19);
    ops.copy(biased, x);
    ops.addBias(biased, bias);
    out.put("addBias", ops.download(biased));
    Tensor biasGrad = ops.upload(normal(random, 19), 1, 19);
    ops.sumRowsInto(biasGrad, x);
    out.put("sumRowsInto", ops.download(biasGrad));
    out.put("sumOfSquares", new float[] {(float) ops.sumOfSquares(x)});

    Tensor sum = poisoned(ops, 37, 19);
    ops.add(sum, x, acc);
    out.put("add", ops.download(sum));

    // the adapter's forward {rank, rows, outputs, inputs}: outputs not a multiple of 4 take
    // CudaOps' one fused kernel (with 1,024 rows and 3 column chunks its two-pass form); the
    // others u then y, u by a block per row below 1,024 rows (float4 loads when the inputs are a
    // multiple of 4) and by a warp per row from there (a conformance variant runs the fused kernel
    // for all of them)
    int[][] loraShapes = {
      {1, 21, 33, 40},
      {3, 21, 33, 40},
      {2, 1024, 1030, 40},
      {1, 21, 36, 40},
      {1, 64, 1032, 40},
      {2, 70, 520, 40},
      {1, 9, 36, 42},
      {2, 1024, 8, 40}
    };
    for (int[] shape : loraShapes) {
      int rank = shape[0];
      int n = shape[1];
      int width = shape[2];
      int in = shape[3];
      Tensor input = ops.upload(normal(random, n * in), n, in);
      Tensor loraA = ops.upload(normal(random, rank * in), rank, in);
      Tensor loraB = ops.upload(normal(random, width * rank), width, rank);
      Tensor y = ops.upload(normal(random, n * width), n, width);
      Tensor u = poisoned(ops, n, rank);
      ops.loraForward(y, u, input, loraA, loraB, 0.7f);
      String name = "loraForward" + rank + "x" + n + "x" + width + "x" + in;
      out.put(name, ops.download(y));
      out.put(name.replace("Forward", "ForwardU"), ops.download(u));
    }

    // the adapter's backward: rank 1 (CudaOps' fused kernels, over two row blocks, with and
    // without dx and dA) and rank 2 (the products)
    for (int variant = 0; variant < 3; variant++) {
      int rank = variant == 2 ? 2 : 1;
      boolean withDx = variant != 1;
      int n = 70;
      int in = 45;
      int width = 37;
      Tensor input = ops.upload(normal(random, n * in), n, in);
      Tensor dy = ops.upload(normal(random, n * width), n, width);
      Tensor u = ops.upload(normal(random, n * rank), n, rank);
      Tensor a = ops.upload(normal(random, rank * in), rank, in);
      Tensor b = ops.upload(normal(random, width * rank), width, rank);
      Tensor dx = withDx ? ops.upload(normal(random, n * in), n, in) : null;
      Tensor dA = withDx ? ops.upload(normal(random, rank * in), rank, in) : null;
      Tensor dB = ops.upload(normal(random, width * rank), width, rank);
      Tensor du = poisoned(ops, n, rank);
      ops.loraBackward(dx, du, dA, dB, dy, input, u, a, b, 0.7f);
      String name = "loraBackward" + rank + (withDx ? "" : "WithoutDxDa");
      out.put(name + "Du", ops.download(du));
      out.put(name + "DB", ops.download(dB));
      if (withDx) {
        out.put(name + "Dx", ops.download(dx));
        out.put(name + "DA", ops.download(dA));
      }
    }

    // residual add fused with the next norm
    Tensor resA = ops.upload(normal(random, 9 * 35), 9, 35);
    Tensor resB = ops.upload(normal(random, 9 * 35), 9, 35);
    Tensor resWeight = ops.upload(uniform(random, 35, 0.5, 1.5), 1, 35);
    Tensor resSum = poisoned(ops, 9, 35);
    Tensor resOut = poisoned(ops, 9, 35);
    Tensor resRstd = poisoned(ops, 9, 1);
    ops.addRmsnorm(resSum, resOut, resRstd, resA, resB, resWeight, 1e-5f);
    out.put("addRmsnormSum", ops.download(resSum));
    out.put("addRmsnorm", ops.download(resOut));
    out.put("addRmsnormRstd", ops.download(resRstd));
    // the norms that also write the copy products read (the same values as the plain norms, and
    // products of the copy equal products of the float32 output exactly: the same rounding) and
    // form the u of the adapters reading their output: two and three of rank 1 (in the norm
    // kernels on CUDA), one of rank 2 (lora_down after the norm there)
    List<Tensor> pairA =
        List.of(ops.upload(normal(random, 35), 1, 35), ops.upload(normal(random, 35), 1, 35));
    List<Tensor> pairU = List.of(poisoned(ops, 9, 1), poisoned(ops, 9, 1));
    Tensor fusedSum = poisoned(ops, 9, 35);
    Tensor fusedOut = poisoned(ops, 9, 35);
    Tensor addNormProduct =
        ops.addRmsnormForProduct(
            fusedSum, fusedOut, poisoned(ops, 9, 1), resA, resB, resWeight, 1e-5f, pairA, pairU);
    out.put("addRmsnormForProduct", ops.download(fusedOut));
    out.put("addRmsnormForProductSum", ops.download(fusedSum));
    out.put("addRmsnormForProductU", downloadAll(ops, pairU));
    List<Tensor> tripleA =
        List.of(
            ops.upload(normal(random, 35), 1, 35),
            ops.upload(normal(random, 35), 1, 35),
            ops.upload(normal(random, 35), 1, 35));
    List<Tensor> tripleU = List.of(poisoned(ops, 9, 1), poisoned(ops, 9, 1), poisoned(ops, 9, 1));
    Tensor rowNormed = poisoned(ops, 9, 35);
    Tensor normProduct =
        ops.rmsnormForProduct(
            rowNormed, poisoned(ops, 9, 1), resA, resWeight, 1e-5f, tripleA, tripleU);
    out.put("rmsnormForProduct", ops.download(rowNormed));
    out.put("rmsnormForProductU", downloadAll(ops, tripleU));
    // the adapter's second half alone: outputs a multiple of 4 (lora_up on CUDA) and not
    for (int width : new int[] {36, 35}) {
      Tensor y = ops.upload(normal(random, 9 * width), 9, width);
      ops.loraUp(
          y,
          ops.upload(normal(random, 9), 9, 1),
          ops.upload(normal(random, width), width, 1),
          0.7f);
      out.put("loraUp" + width, ops.download(y));
    }
    // several adapters' second halves at once (one launch on CUDA), one of rank 2; and three where
    // one output width (35) rules the kernel out, so each runs alone
    for (int[] widths : new int[][] {{36, 8, 20}, {12, 40}, {36, 35, 8}}) {
      List<Tensor> ys = new java.util.ArrayList<>();
      List<Tensor> us = new java.util.ArrayList<>();
      List<Tensor> bs = new java.util.ArrayList<>();
      float[] scales = new float[widths.length];
      for (int i = 0; i < widths.length; i++) {
        int rank = i == 1 ? 2 : 1;
        ys.add(ops.upload(normal(random, 9 * widths[i]), 9, widths[i]));
        us.add(ops.upload(normal(random, 9 * rank), 9, rank));
        bs.add(ops.upload(normal(random, widths[i] * rank), widths[i], rank));
        scales[i] = 0.5f + i;
      }
      ops.loraUps(ys, us, bs, scales);
      out.put("loraUps" + java.util.Arrays.toString(widths), downloadAll(ops, ys));
    }
    Tensor normWeight = ops.uploadWeight(normal(random, 5 * 35), 5, 35);
    putProducts(ops, out, "addRmsnormForProduct", addNormProduct, fusedOut, normWeight);
    putProducts(ops, out, "rmsnormForProduct", normProduct, rowNormed, normWeight);
    // (only after those products: this call's copy takes the place of normProduct's)
    Tensor rank2U = poisoned(ops, 9, 2);
    ops.rmsnormForProduct(
        poisoned(ops, 9, 35),
        poisoned(ops, 9, 1),
        resB,
        resWeight,
        1e-5f,
        List.of(ops.upload(normal(random, 70), 2, 35)),
        List.of(rank2U));
    out.put("rmsnormForProductRank2U", ops.download(rank2U));
    // norms of rows wider than the kernels keep in registers (8 values a thread of 256); after
    // the products above, as their copies take the same places
    int wideCols = 2100;
    Tensor wideA = ops.upload(normal(random, 2 * wideCols), 2, wideCols);
    Tensor wideB = ops.upload(normal(random, 2 * wideCols), 2, wideCols);
    Tensor wideWeight = ops.upload(uniform(random, wideCols, 0.5, 1.5), 1, wideCols);
    List<Tensor> wideAdapterA = List.of(ops.upload(normal(random, wideCols), 1, wideCols));
    List<Tensor> wideAdapterU = List.of(poisoned(ops, 2, 1));
    Tensor wideSum = poisoned(ops, 2, wideCols);
    Tensor wideOut = poisoned(ops, 2, wideCols);
    ops.addRmsnormForProduct(
        wideSum,
        wideOut,
        poisoned(ops, 2, 1),
        wideA,
        wideB,
        wideWeight,
        1e-5f,
        wideAdapterA,
        wideAdapterU);
    out.put("addRmsnormWide", ops.download(wideOut));
    out.put("addRmsnormWideU", downloadAll(ops, wideAdapterU));
    ops.rmsnormForProduct(
        wideOut, poisoned(ops, 2, 1), wideA, wideWeight, 1e-5f, wideAdapterA, wideAdapterU);
    out.put("rmsnormWide", ops.download(wideOut));
    out.put("rmsnormWideU", downloadAll(ops, wideAdapterU));

    // rmsnorm over whole rows and per head (Qwen3's q/k norm), forward and backward
    for (int width : new int[] {24, 8}) {
      Tensor in = ops.upload(normal(random, 11 * 24), 11, 24);
      Tensor weight = ops.upload(uniform(random, width, 0.5, 1.5), 1, width);
      Tensor normed = poisoned(ops, 11, 24);
      Tensor rstd = poisoned(ops, 11, 24 / width);
      ops.rmsnorm(normed, rstd, in, weight, width, 1e-6f);
      out.put("rmsnorm" + width, ops.download(normed));
      out.put("rmsnormRstd" + width, ops.download(rstd));
      Tensor dout = ops.upload(normal(random, 11 * 24), 11, 24);
      Tensor dx = ops.upload(normal(random, 11 * 24), 11, 24);
      Tensor dweight = ops.upload(normal(random, width), 1, width);
      ops.rmsnormBackward(dx, dweight, dout, in, weight, rstd, width);
      out.put("rmsnormBackwardDx" + width, ops.download(dx));
      out.put("rmsnormBackwardDw" + width, ops.download(dweight));
    }

    // rope forward and inverse
    int headSize = 8;
    Tensor cos = ops.upload(uniform(random, 64 * 4, -1, 1), 64, 4);
    Tensor sin = ops.upload(uniform(random, 64 * 4, -1, 1), 64, 4);
    Tensor roped = ops.upload(normal(random, 9 * 24), 9, 24);
    int[] positions = {0, 1, 2, 63, 5, 5, 17, 30, 31};
    ops.rope(roped, headSize, positions, cos, sin, false);
    out.put("rope", ops.download(roped));
    ops.rope(roped, headSize, positions, cos, sin, true);
    out.put("ropeInverse", ops.download(roped));

    // a decode step's attention inputs in one call: adapters on q (rank 1) and v (rank 2) or on
    // none, RoPE on q and k, k and v into cache rows; then from one product of the three (qkv
    // [5, 16 + 8 + 8]) with biases on q, k and v
    for (String variant : new String[] {"", "NoAdapters", "FromProduct"}) {
      boolean adapters = !variant.equals("NoAdapters");
      boolean fromProduct = variant.equals("FromProduct");
      Tensor dq = ops.upload(normal(random, 5 * 16), 5, 16);
      Tensor dk = ops.upload(normal(random, 5 * 8), 5, 8);
      Tensor dv = ops.upload(normal(random, 5 * 8), 5, 8);
      Tensor qkv = fromProduct ? ops.upload(normal(random, 5 * 32), 5, 32) : null;
      Tensor[] biases = new Tensor[3];
      if (fromProduct) {
        biases[0] = ops.upload(normal(random, 16), 1, 16);
        biases[1] = ops.upload(normal(random, 8), 1, 8);
        biases[2] = ops.upload(normal(random, 8), 1, 8);
      }
      Tensor keyCache = ops.zerosCache(20, 8);
      Tensor valueCache = ops.zerosCache(20, 8);
      List<Tensor> ys = adapters ? List.of(ops.rows(dq, 0, 5), ops.rows(dv, 0, 5)) : List.of();
      List<Tensor> us =
          adapters
              ? List.of(ops.upload(normal(random, 5), 5, 1), ops.upload(normal(random, 10), 5, 2))
              : List.of();
      List<Tensor> bs =
          adapters
              ? List.of(ops.upload(normal(random, 16), 16, 1), ops.upload(normal(random, 16), 8, 2))
              : List.of();
      float[] scales = adapters ? new float[] {0.7f, 1.3f} : new float[0];
      ops.ropeIntoCache(
          qkv,
          dq,
          dk,
          dv,
          biases[0],
          biases[1],
          biases[2],
          ys,
          us,
          bs,
          scales,
          headSize,
          new int[] {0, 5, 63, 17, 2},
          cos,
          sin,
          keyCache,
          valueCache,
          new int[] {3, 7, 0, 19, 12});
      String name = "ropeIntoCache" + variant;
      out.put(name + "Q", ops.download(dq));
      out.put(name + "K", ops.download(dk));
      out.put(name + "V", ops.download(dv));
      out.put("reduced." + name + "Keys", ops.download(keyCache));
      out.put("reduced." + name + "Values", ops.download(valueCache));
    }
    Tensor sideBySide = ops.upload(normal(random, 7 * 30), 7, 30);
    Tensor block = poisoned(ops, 7, 11);
    ops.copyColumns(block, sideBySide, 13);
    out.put("copyColumns", ops.download(block));

    // swiglu
    Tensor gate = ops.upload(normal(random, 13 * 31), 13, 31);
    Tensor up = ops.upload(normal(random, 13 * 31), 13, 31);
    Tensor act = poisoned(ops, 13, 31);
    ops.swiglu(act, gate, up);
    out.put("swiglu", ops.download(act));
    // swiglu with the gate and up adapters' output terms added on the way (decoding): rank 1 on
    // gate and 2 on up, and up without an adapter; with the copy products read
    for (boolean upAdapter : new boolean[] {true, false}) {
      Tensor g = ops.upload(normal(random, 13 * 36), 13, 36);
      Tensor u = ops.upload(normal(random, 13 * 36), 13, 36);
      Tensor h = poisoned(ops, 13, 36);
      Tensor product =
          ops.swigluForProductWithLoraUps(
              h,
              g,
              u,
              ops.upload(normal(random, 13), 13, 1),
              ops.upload(normal(random, 36), 36, 1),
              0.7f,
              upAdapter ? ops.upload(normal(random, 26), 13, 2) : null,
              upAdapter ? ops.upload(normal(random, 72), 36, 2) : null,
              1.3f);
      String name = "swigluWithLoraUps" + (upAdapter ? "" : "GateOnly");
      out.put(name, ops.download(h));
      putProducts(ops, out, name, product, h, ops.uploadWeight(normal(random, 5 * 36), 5, 36));
    }
    Tensor dact = ops.upload(normal(random, 13 * 31), 13, 31);
    Tensor dgate = poisoned(ops, 13, 31);
    Tensor dup = poisoned(ops, 13, 31);
    ops.swigluBackward(dgate, dup, dact, gate, up);
    out.put("swigluBackwardGate", ops.download(dgate));
    out.put("swigluBackwardUp", ops.download(dup));
    // The fused copies for products: the same values as the plain ops, and products of them equal
    // products of the float32 outputs exactly (both round the same values to the same type).
    Tensor fusedAct = poisoned(ops, 13, 31);
    Tensor actProduct = ops.swigluForProduct(fusedAct, gate, up);
    out.put("swigluForProduct", ops.download(fusedAct));
    Tensor fusedDgate = poisoned(ops, 13, 31);
    Tensor fusedDup = poisoned(ops, 13, 31);
    Ops.GatedPair gradProducts =
        ops.swigluBackwardForProducts(fusedDgate, fusedDup, dact, gate, up);
    out.put("swigluBackwardForProductsGate", ops.download(fusedDgate));
    out.put("swigluBackwardForProductsUp", ops.download(fusedDup));
    Tensor mlpWeight = ops.uploadWeight(normal(random, 7 * 31), 7, 31);
    putProducts(ops, out, "swigluForProduct", actProduct, act, mlpWeight);
    putProducts(ops, out, "swigluBackwardGate", gradProducts.gate(), dgate, mlpWeight);
    putProducts(ops, out, "swigluBackwardUp", gradProducts.up(), dup, mlpWeight);

    // embedding with repeated ids
    Tensor table = ops.upload(normal(random, 50 * 12), 50, 12);
    int[] ids = {4, 0, 49, 4, 17, 4, 33};
    Tensor embedded = poisoned(ops, ids.length, 12);
    ops.embedding(embedded, table, ids);
    out.put("embedding", ops.download(embedded));
    Tensor dtable = ops.upload(normal(random, 50 * 12), 50, 12);
    ops.embeddingBackward(dtable, ops.upload(normal(random, ids.length * 12), ids.length, 12), ids);
    out.put("embeddingBackward", ops.download(dtable));

    // attention: packed training batch (keys = queries) and decode from a cache (one query each)
    attention(ops, random, out, "attentionTrain", trainingBatch(), 14, 14, 6, 2, 8);
    attention(ops, random, out, "attentionDecode", decodeBatch(), 4, 64, 6, 2, 8);
    // the benchmark models' head size 64 with a group of 7 (Qwen2.5-0.5B), and head size 128
    // with a group of 16 (several blocks per key/value head)
    attention(ops, random, out, "attentionDecodeHs64", decodeBatch(), 4, 64, 14, 2, 64);
    attention(ops, random, out, "attentionTrainHs128", trainingBatch(), 14, 14, 16, 1, 128);
    // queries after earlier keys (a prefill continuing a cached prefix): causal offset
    attention(ops, random, out, "attentionPrefill", prefillBatch(), 7, 24, 6, 2, 8);

    // reduced-precision storage (bf16 in CudaOps' default precision; exact elsewhere): a product
    // with a stored weight, one into it (an adapter merge), the embedding lookup of a stored table,
    // and attention over a stored KV cache filled by scatterRows and copy
    Tensor storedW = ops.uploadWeight(normal(random, 29 * 47), 29, 47);
    Tensor activations = ops.upload(normal(random, 33 * 47), 33, 47);
    Tensor projected = poisoned(ops, 33, 29);
    ops.gemm(projected, activations, false, storedW, true, 1f, 0f);
    out.put("reduced.gemmWeight", ops.download(projected));
    Tensor gradOut = ops.upload(normal(random, 33 * 29), 33, 29);
    Tensor gradIn = ops.upload(normal(random, 33 * 47), 33, 47);
    ops.gemm(gradIn, gradOut, false, storedW, false, 1f, 1f);
    out.put("reduced.gemmWeightBackward", ops.download(gradIn));
    Tensor mergeB = ops.upload(normal(random, 29 * 2), 29, 2);
    Tensor mergeA = ops.upload(normal(random, 2 * 47), 2, 47);
    ops.gemm(storedW, mergeB, false, mergeA, false, 0.5f, 1f);
    out.put("reduced.mergeIntoWeight", ops.download(storedW));
    ops.write(storedW, normal(random, 29 * 47));
    out.put("reduced.writeWeight", ops.download(storedW));
    Tensor storedTable = ops.uploadWeight(normal(random, 50 * 12), 50, 12);
    Tensor looked = poisoned(ops, ids.length, 12);
    ops.embedding(looked, storedTable, ids);
    out.put("reduced.embedding", ops.download(looked));
    cachedAttention(ops, random, out);
    // Long contexts over a cache: head size 64 with groups of 4 (Llama-3.2-1B) and 7
    // (Qwen2.5-0.5B), head size 128 with groups of 4 and 8; the last with more than a thousand
    // blocks (the key-tile kernel's 4-warp launch).
    int[] ragged = {300, 129, 33, 1, 64, 97};
    int[] oneEach = {1, 1, 1, 1, 1, 1};
    int[] someMore = {3, 1, 2, 1, 1, 5};
    longCacheAttention(ops, random, out, "longCacheHs64Group4", 8, 2, 64, ragged, oneEach);
    longCacheAttention(ops, random, out, "longCacheHs64Group7", 14, 2, 64, ragged, someMore);
    longCacheAttention(ops, random, out, "longCacheHs128Group4", 8, 2, 128, ragged, someMore);
    // a group of 8 at head size 128: two blocks per key/value head
    longCacheAttention(ops, random, out, "longCacheHs128Group8", 16, 2, 128, ragged, oneEach);
    int[] manyKeys = new int[1040];
    int[] manyQueries = new int[1040];
    for (int i = 0; i < manyKeys.length; i++) {
      manyKeys[i] = 1 + (i * 37) % 70;
      manyQueries[i] = 1;
    }
    longCacheAttention(ops, random, out, "manySequencesCache", 2, 1, 64, manyKeys, manyQueries);
    // samples reading their prompt's keys from another slot (a shared prefix), head sizes 64 and
    // 128: their own slots hold other values at the prompt's rows, which must not be read
    sharedPromptAttention(ops, random, out, 64);
    sharedPromptAttention(ops, random, out, 128);
    promptBundleAttention(ops, random, out);

    // output head: chunked target logprobs and their backward, full logits
    int vocab = 97;
    Tensor hidden = ops.upload(normal(random, 10 * 16), 10, 16);
    Tensor head = ops.upload(normal(random, vocab * 16), vocab, 16);
    int[] targets = {3, 96, -1, 0, 50, 50, 7, -1, 12, 88};
    float[] logprobs = new float[10];
    java.util.Arrays.fill(logprobs, Float.NaN);
    ops.targetLogprobs(logprobs, hidden, head, targets, 0.7f);
    out.put("targetLogprobs", logprobs);
    Tensor dhidden = ops.upload(normal(random, 10 * 16), 10, 16);
    Tensor dhead = ops.upload(normal(random, vocab * 16), vocab, 16);
    float[] dlogprob = normal(random, 10);
    ops.targetLogprobsBackward(dhidden, dhead, dlogprob, hidden, head, targets, 0.7f);
    out.put("targetLogprobsBackwardHidden", ops.download(dhidden));
    out.put("targetLogprobsBackwardHead", ops.download(dhead));
    Tensor logits = poisoned(ops, 10, vocab);
    ops.logits(logits, hidden, head, 1.3f);
    out.put("logits", ops.download(logits));

    // sampling on the device: greedy rows and drawn rows at several temperatures; draws near 0
    // and near 1 reach both ends of the inverse CDF
    int rowsToSample = 9;
    int sampleVocab = 1000;
    float[] raw = normal(random, rowsToSample * sampleVocab);
    for (int i = 0; i < raw.length; i++) {
      raw[i] *= 3;
    }
    Tensor sampleLogits = ops.upload(raw, rowsToSample, sampleVocab);
    double[] inverseTemperature = {1, 1, 1, 0.5, 2, 1, 1 / 0.7, 1, 1};
    double[] uniform = {-1, 0.5, 0.0001, 0.3, 0.9, 0.99999, 0.7, -1, 0.25};
    int[] sampled = new int[rowsToSample];
    double[] sampledLogprobs = new double[rowsToSample];
    ops.sampleTokens(sampleLogits, inverseTemperature, uniform, sampled, sampledLogprobs);
    float[] sampledAsFloats = new float[rowsToSample];
    float[] logprobsAsFloats = new float[rowsToSample];
    for (int i = 0; i < rowsToSample; i++) {
      sampledAsFloats[i] = sampled[i];
      logprobsAsFloats[i] = (float) sampledLogprobs[i];
    }
    out.put("sampleTokens", sampledAsFloats);
    out.put("sampleTokensLogprobs", logprobsAsFloats);
    // a vocabulary large enough that the device kernel narrows the draw over several warps
    int wideVocab = 40_000;
    Tensor wideLogits = ops.upload(normal(random, 4 * wideVocab), 4, wideVocab);
    int[] wideSampled = new int[4];
    double[] wideLogprobs = new double[4];
    ops.sampleTokens(
        wideLogits,
        new double[] {1, 0.8, 1, 1.5},
        new double[] {0.37, 0.999, 0.00002, 0.61},
        wideSampled,
        wideLogprobs);
    float[] wide = new float[8];
    for (int i = 0; i < 4; i++) {
      wide[i] = wideSampled[i];
      wide[4 + i] = (float) wideLogprobs[i];
    }
    out.put("sampleTokensWideVocab", wide);

    // AdamW, third step
    Tensor param = ops.upload(normal(random, 7 * 5), 7, 5);
    Tensor grad = ops.upload(normal(random, 7 * 5), 7, 5);
    Tensor m = ops.upload(normal(random, 7 * 5), 7, 5);
    Tensor v = ops.upload(uniform(random, 7 * 5, 0.01, 1), 7, 5);
    ops.adamw(param, grad, m, v, 0.5f, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
    out.put("adamwParam", ops.download(param));
    out.put("adamwM", ops.download(m));
    out.put("adamwV", ops.download(v));
    return out;
  }

  /** Three sequences of 5, 1 and 8 tokens packed into 14 rows; keys are the same rows. */
  private static AttentionBatch trainingBatch() {
    return new AttentionBatch(
        new int[] {0, 5, 6}, new int[] {5, 1, 8}, new int[] {0, 5, 6}, new int[] {5, 1, 8});
  }

  /** Four decoding sequences, one new token each, reading 3, 17, 64 and 1 cached keys. */
  private static AttentionBatch decodeBatch() {
    return new AttentionBatch(
        new int[] {0, 1, 2, 3},
        new int[] {1, 1, 1, 1},
        new int[] {0, 3, 20, 63},
        new int[] {3, 17, 44, 1});
  }

  /**
   * Sequence 0: 4 new queries after 5 cached keys (rows 10..18); sequence 1: 3 of 3 (rows 0..2).
   */
  static AttentionBatch prefillBatch() {
    return new AttentionBatch(
        new int[] {0, 4}, new int[] {4, 3}, new int[] {10, 0}, new int[] {9, 3});
  }

  private static void attention(
      Ops ops,
      SplittableRandom random,
      Map<String, float[]> out,
      String name,
      AttentionBatch batch,
      int queryRows,
      int keyRows,
      int heads,
      int kvHeads,
      int hs) {
    Tensor q = ops.upload(normal(random, queryRows * heads * hs), queryRows, heads * hs);
    Tensor k = ops.upload(normal(random, keyRows * kvHeads * hs), keyRows, kvHeads * hs);
    Tensor v = ops.upload(normal(random, keyRows * kvHeads * hs), keyRows, kvHeads * hs);
    Tensor o = poisoned(ops, queryRows, heads * hs);
    Tensor lse = poisoned(ops, queryRows, heads);
    ops.attention(o, lse, q, k, v, batch, heads, kvHeads, hs);
    out.put(name, ops.download(o));
    out.put(name + "Lse", ops.download(lse));
    Tensor dout = ops.upload(normal(random, queryRows * heads * hs), queryRows, heads * hs);
    Tensor dq = ops.upload(normal(random, queryRows * heads * hs), queryRows, heads * hs);
    Tensor dk = ops.upload(normal(random, keyRows * kvHeads * hs), keyRows, kvHeads * hs);
    Tensor dv = ops.upload(normal(random, keyRows * kvHeads * hs), keyRows, kvHeads * hs);
    ops.attentionBackward(dq, dk, dv, dout, o, lse, q, k, v, batch, heads, kvHeads, hs);
    out.put(name + "BackwardQ", ops.download(dq));
    out.put(name + "BackwardK", ops.download(dk));
    out.put(name + "BackwardV", ops.download(dv));
  }

  /**
   * Decode over a KV cache in {@link Ops#zerosCache} storage: keys and values scattered in, one
   * slot copied to another, then attention reads the cache (the sampler's path).
   */
  private static void cachedAttention(Ops ops, SplittableRandom random, Map<String, float[]> out) {
    int heads = 14;
    int kvHeads = 2;
    int hs = 64;
    int width = kvHeads * hs;
    Tensor keys = ops.zerosCache(64, width);
    Tensor values = ops.zerosCache(64, width);
    int[] rows = new int[30];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = i < 20 ? i : 12 + i; // slot 0 rows 0..19, slot 1 rows 32..41
    }
    ops.scatterRows(keys, rows, ops.upload(normal(random, 30 * width), 30, width));
    ops.scatterRows(values, rows, ops.upload(normal(random, 30 * width), 30, width));
    ops.copy(ops.rows(keys, 42, 5), ops.rows(keys, 0, 5));
    ops.copy(ops.rows(values, 42, 5), ops.rows(values, 0, 5));
    out.put("reduced.cacheKeys", ops.download(keys));
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0, 1, 2}, new int[] {1, 1, 1}, new int[] {0, 32, 32}, new int[] {20, 15, 1});
    Tensor q = ops.upload(normal(random, 3 * heads * hs), 3, heads * hs);
    Tensor o = poisoned(ops, 3, heads * hs);
    Tensor lse = poisoned(ops, 3, heads);
    ops.attention(o, lse, q, keys, values, batch, heads, kvHeads, hs);
    out.put("reduced.cacheAttention", ops.download(o));
    out.put("reduced.cacheAttentionLse", ops.download(lse));
  }

  /**
   * Attention over a long bf16-able cache, each sequence's keys stored one after another: several
   * key tiles per warp, ragged lengths, and sequences with several queries (causal).
   */
  private static void longCacheAttention(
      Ops ops,
      SplittableRandom random,
      Map<String, float[]> out,
      String name,
      int heads,
      int kvHeads,
      int hs,
      int[] keyCounts,
      int[] queryCounts) {
    int sequences = keyCounts.length;
    int[] queryStart = new int[sequences];
    int[] keyStart = new int[sequences];
    int queries = 0;
    int keys = 0;
    for (int i = 0; i < sequences; i++) {
      queryStart[i] = queries;
      keyStart[i] = keys;
      queries += queryCounts[i];
      keys += keyCounts[i];
    }
    int width = kvHeads * hs;
    Tensor k = ops.zerosCache(keys, width);
    Tensor v = ops.zerosCache(keys, width);
    int[] rows = new int[keys];
    for (int i = 0; i < keys; i++) {
      rows[i] = i;
    }
    ops.scatterRows(k, rows, ops.upload(normal(random, keys * width), keys, width));
    ops.scatterRows(v, rows, ops.upload(normal(random, keys * width), keys, width));
    Tensor q = ops.upload(normal(random, queries * heads * hs), queries, heads * hs);
    Tensor o = poisoned(ops, queries, heads * hs);
    Tensor lse = poisoned(ops, queries, heads);
    AttentionBatch batch = new AttentionBatch(queryStart, queryCounts, keyStart, keyCounts);
    ops.attention(o, lse, q, k, v, batch, heads, kvHeads, hs);
    out.put("reduced." + name, ops.download(o));
    out.put("reduced." + name + "Lse", ops.download(lse));
  }

  /**
   * Decode over a cache where sequences 1 and 2 read their first 150 keys from slot 0 (sequence 0's
   * prompt) and the rest from their own slots; 3 slots of 400 rows, all filled.
   */
  private static void sharedPromptAttention(
      Ops ops, SplittableRandom random, Map<String, float[]> out, int hs) {
    int heads = 8;
    int kvHeads = 2;
    int width = kvHeads * hs;
    Tensor k = filledCache(ops, random, 3 * 400, width);
    Tensor v = filledCache(ops, random, 3 * 400, width);
    Tensor q = ops.upload(normal(random, 3 * heads * hs), 3, heads * hs);
    Tensor o = poisoned(ops, 3, heads * hs);
    Tensor lse = poisoned(ops, 3, heads);
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0, 1, 2},
            new int[] {1, 1, 1},
            new int[] {0, 400, 800},
            new int[] {320, 190, 151},
            new int[] {0, 0, 0},
            new int[] {0, 150, 150});
    // (with the copy o_proj's product reads: products of it equal products of the output)
    Tensor product = ops.attentionForProduct(o, lse, q, k, v, batch, heads, kvHeads, hs);
    out.put("reduced.sharedPrompt" + hs, ops.download(o));
    out.put("reduced.sharedPrompt" + hs + "Lse", ops.download(lse));
    putProducts(
        ops,
        out,
        "sharedPrompt" + hs,
        product,
        o,
        ops.uploadWeight(normal(random, 24 * heads * hs), 24, heads * hs));
  }

  /**
   * Decode over the samples of two prompts in one batch, 7 query heads per key/value head (the
   * bundled attention then takes 2 samples a block), with a sequence sharing nothing between them:
   * prompt A (40 keys) held by sequence 0, read by 1, 2 and 3; sequence 4 alone; prompt B (70 keys)
   * held by a slot no sequence of the batch holds, read by 5 and 6. 7 slots of 200 rows, all
   * filled.
   */
  private static void promptBundleAttention(
      Ops ops, SplittableRandom random, Map<String, float[]> out) {
    int hs = 64;
    int heads = 14;
    int kvHeads = 2;
    int width = kvHeads * hs;
    Tensor k = filledCache(ops, random, 7 * 200, width);
    Tensor v = filledCache(ops, random, 7 * 200, width);
    Tensor q = ops.upload(normal(random, 7 * heads * hs), 7, heads * hs);
    Tensor o = poisoned(ops, 7, heads * hs);
    Tensor lse = poisoned(ops, 7, heads);
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0, 1, 2, 3, 4, 5, 6},
            new int[] {1, 1, 1, 1, 1, 1, 1},
            new int[] {0, 200, 400, 600, 800, 1000, 1200},
            new int[] {41, 77, 40 + 33, 190, 9, 70 + 1, 70 + 64},
            new int[] {0, 0, 0, 0, 0, 1300, 1300}, // prompt B at rows 1300...
            new int[] {0, 40, 40, 40, 0, 70, 70});
    ops.attentionForProduct(o, lse, q, k, v, batch, heads, kvHeads, hs);
    out.put("reduced.promptBundles", ops.download(o));
    out.put("reduced.promptBundlesLse", ops.download(lse));
  }

  /** A KV cache of {@code rows} rows, every one filled with normal values. */
  private static Tensor filledCache(Ops ops, SplittableRandom random, int rows, int width) {
    Tensor cache = ops.zerosCache(rows, width);
    int[] all = new int[rows];
    for (int i = 0; i < rows; i++) {
      all[i] = i;
    }
    ops.scatterRows(cache, all, ops.upload(normal(random, rows * width), rows, width));
    return cache;
  }

  /** An output tensor filled with NaN first, so an element the op forgets to write shows. */
  private static Tensor poisoned(Ops ops, int rows, int cols) {
    Tensor t = ops.zeros(rows, cols);
    ops.fill(t, Float.NaN);
    return t;
  }

  private static float[] normal(SplittableRandom random, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      // Box–Muller from two uniforms: SplittableRandom has no nextGaussian of its own state.
      double u = 1 - random.nextDouble();
      double r = Math.sqrt(-2 * Math.log(u));
      x[i] = (float) (r * Math.cos(2 * Math.PI * random.nextDouble()));
    }
    return x;
  }

  private static float[] uniform(SplittableRandom random, int n, double lo, double hi) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) random.nextDouble(lo, hi);
    }
    return x;
  }

  // ---- the reference file: name, length, floats; nothing else ----

  static void write(Map<String, float[]> outputs, Path file) throws IOException {
    try (OutputStream raw = Files.newOutputStream(file);
        DataOutputStream data = new DataOutputStream(new java.io.BufferedOutputStream(raw))) {
      data.writeInt(outputs.size());
      for (Map.Entry<String, float[]> e : outputs.entrySet()) {
        data.writeUTF(e.getKey());
        data.writeInt(e.getValue().length);
        for (float f : e.getValue()) {
          data.writeFloat(f);
        }
      }
    }
  }

  static Map<String, float[]> read(Path file) throws IOException {
    Map<String, float[]> outputs = new LinkedHashMap<>();
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream data = new DataInputStream(new java.io.BufferedInputStream(raw))) {
      int count = data.readInt();
      for (int i = 0; i < count; i++) {
        String name = data.readUTF();
        float[] values = new float[data.readInt()];
        for (int j = 0; j < values.length; j++) {
          values[j] = data.readFloat();
        }
        outputs.put(name, values);
      }
    }
    return outputs;
  }

  /** {@code ‖a − b‖ / max(‖b‖, 1e-30)}, NaN when either holds a NaN. */
  static double relativeError(float[] a, float[] b) {
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      diff += d * d;
      norm += (double) b[i] * b[i];
    }
    return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
  }

  /** The tensors' values one after another. */
  private static float[] downloadAll(Ops ops, List<Tensor> tensors) {
    int size = 0;
    for (Tensor t : tensors) {
      size += (int) t.size();
    }
    float[] all = new float[size];
    int at = 0;
    for (Tensor t : tensors) {
      float[] d = ops.download(t);
      System.arraycopy(d, 0, all, at, d.length);
      at += d.length;
    }
    return all;
  }

  /**
   * A product of {@code copy} (an op's copy for products) with {@code weight}, and its difference
   * from the same product of {@code original} (the op's float32 output): zero where the copy rounds
   * as the product's own conversion does.
   */
  private static void putProducts(
      Ops ops, Map<String, float[]> out, String name, Tensor copy, Tensor original, Tensor weight) {
    Tensor viaCopy = ops.zeros(copy.rows(), weight.rows());
    Tensor fromFloat = ops.zeros(copy.rows(), weight.rows());
    ops.gemm(viaCopy, copy, false, weight, true, 1f, 0f);
    ops.gemm(fromFloat, original, false, weight, true, 1f, 0f);
    out.put("reduced." + name + "Product", ops.download(viaCopy));
    ops.axpy(fromFloat, viaCopy, -1f);
    out.put(name + "ProductDifference", ops.download(fromFloat));
  }
}
