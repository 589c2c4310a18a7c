package rl.core.model;

import java.util.ArrayList;
import java.util.List;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * One projection {@code y = x Wᵀ + b + s · (x Aᵀ) Bᵀ}: weight {@code W [out, in]}, optional bias
 * {@code [1, out]}, optional LoRA pair {@code A [r, in]}, {@code B [out, r]} (PEFT's layout) with
 * scale s.
 */
public final class Linear {
  /** The module path in the checkpoint, e.g. {@code model.layers.0.self_attn.q_proj}. */
  final String module;

  /** The projection's short name, e.g. {@code q_proj}: what LoRA targets name. */
  final String kind;

  final Parameter weight;
  final Parameter bias;
  Parameter loraA;
  Parameter loraB;
  float loraScale;

  Linear(String module, String kind, Parameter weight, Parameter bias) {
    this.module = module;
    this.kind = kind;
    this.weight = weight;
    this.bias = bias;
  }

  public String module() {
    return module;
  }

  public String kind() {
    return kind;
  }

  public Parameter weight() {
    return weight;
  }

  public Parameter bias() {
    return bias;
  }

  public Parameter loraA() {
    return loraA;
  }

  public Parameter loraB() {
    return loraB;
  }

  public float loraScale() {
    return loraScale;
  }

  public int in() {
    return weight.value().cols();
  }

  public int out() {
    return weight.value().rows();
  }

  /** Attaches (or, with nulls, removes) a LoRA pair. */
  public void setLora(Parameter a, Parameter b, float scale) {
    if (a != null
        && (a.value().cols() != in()
            || b.value().rows() != out()
            || a.value().rows() != b.value().cols())) {
      throw new IllegalArgumentException(
          module
              + ": LoRA A "
              + a.value().shapeString()
              + " and B "
              + b.value().shapeString()
              + " do not fit weight "
              + weight.value().shapeString()
              + " (expected A [r, "
              + in()
              + "], B ["
              + out()
              + ", r])");
    }
    this.loraA = a;
    this.loraB = b;
    this.loraScale = scale;
  }

  /**
   * Folds the attached adapter into the weight, {@code W [out, in] += s · B [out, r] · A [r, in]},
   * in float32 (see {@link Parameter#ensureFullPrecision}); the adapter stays attached.
   */
  public void mergeAdapterIntoWeight(Ops ops) {
    weight.ensureFullPrecision(ops);
    ops.gemm(weight.value(), loraB.value(), false, loraA.value(), false, loraScale, 1f);
  }

  boolean hasLora() {
    return loraA != null;
  }

  /**
   * {@code y [N, out] = x [N, in] · Wᵀ (+ b) (+ s · u · Bᵀ)} with {@code u = x · Aᵀ [N, r]} saved
   * for the backward pass when the adapter is on.
   */
  void forward(Ops ops, Tensor y, Tensor x, Tensor u, boolean adapterOn) {
    forward(ops, y, x, x, u, adapterOn);
  }

  /**
   * As {@link #forward(Ops, Tensor, Tensor, Tensor, boolean)}, with {@code xProduct} the same input
   * as {@link Ops#productOperand} gave it for the product (the adapter reads {@code x}).
   */
  void forward(Ops ops, Tensor y, Tensor x, Tensor xProduct, Tensor u, boolean adapterOn) {
    ops.gemm(y, productInput(ops, x, xProduct), false, weight.value(), true, 1f, 0f);
    if (bias != null) {
      ops.addBias(y, bias.value());
    }
    if (adapterOn && loraA != null) {
      ops.loraForward(y, u, x, loraA.value(), loraB.value(), loraScale);
    }
  }

  /**
   * As {@link #forward(Ops, Tensor, Tensor, Tensor, Tensor, boolean)} with the adapter's {@code u}
   * formed already (by the norm that wrote {@code x}, {@link Ops#rmsnormForProduct}): runs the
   * product, and leaves the adapter's output term to {@code ups}, which adds those of the
   * projections reading the same input together ({@link AdapterOutputs#add}).
   */
  void forwardWithAdapterInput(
      Ops ops,
      Tensor y,
      Tensor x,
      Tensor xProduct,
      Tensor u,
      boolean adapterOn,
      AdapterOutputs ups) {
    ops.gemm(y, productInput(ops, x, xProduct), false, weight.value(), true, 1f, 0f);
    if (bias != null) {
      ops.addBias(y, bias.value());
    }
    if (adapterOn && loraA != null) {
      ups.defer(y, u, loraB.value(), loraScale);
    }
  }

  /**
   * Leaves the adapter's output term for {@code y} to {@code ups}, as {@link
   * #forwardWithAdapterInput} does, where the product itself was formed together with other
   * projections' (one product of a fused weight).
   */
  void deferAdapter(Tensor y, Tensor u, boolean adapterOn, AdapterOutputs ups) {
    if (adapterOn && loraA != null) {
      ups.defer(y, u, loraB.value(), loraScale);
    }
  }

  /**
   * The output terms {@code y += s · u · Bᵀ} of adapters whose {@code u} is formed, collected from
   * projections that read one input and added by one {@link Ops#loraUps}.
   */
  static final class AdapterOutputs {
    private final List<Tensor> ys = new ArrayList<>(3);
    private final List<Tensor> us = new ArrayList<>(3);
    private final List<Tensor> bs = new ArrayList<>(3);
    private final List<Float> scales = new ArrayList<>(3);

    void defer(Tensor y, Tensor u, Tensor b, float scale) {
      ys.add(y);
      us.add(u);
      bs.add(b);
      scales.add(scale);
    }

    /**
     * {@link Ops#swigluForProductWithLoraUps} of {@code gate} and {@code up} with their deferred
     * terms (a forward no backward reads), then adds any others; then forgets them all.
     */
    Tensor swigluForProduct(Ops ops, Tensor out, Tensor gate, Tensor up) {
      int g = indexOf(gate);
      int u = indexOf(up);
      Tensor product =
          ops.swigluForProductWithLoraUps(
              out,
              gate,
              up,
              g < 0 ? null : us.get(g),
              g < 0 ? null : bs.get(g),
              g < 0 ? 0f : scales.get(g),
              u < 0 ? null : us.get(u),
              u < 0 ? null : bs.get(u),
              u < 0 ? 0f : scales.get(u));
      for (int i = ys.size() - 1; i >= 0; i--) {
        if (i == g || i == u) {
          ys.remove(i);
          us.remove(i);
          bs.remove(i);
          scales.remove(i);
        }
      }
      add(ops);
      return product;
    }

    /**
     * {@link Ops#ropeIntoCache} of a decode step's q, k and v (from {@code qkv}, their one product,
     * when not null) with their deferred terms (and any others), then forgets them.
     */
    void ropeIntoCache(
        Ops ops,
        Tensor qkv,
        Tensor q,
        Tensor k,
        Tensor v,
        Tensor qBias,
        Tensor kBias,
        Tensor vBias,
        int headSize,
        int[] positions,
        Tensor cos,
        Tensor sin,
        Tensor keyCache,
        Tensor valueCache,
        int[] cacheRows) {
      ops.ropeIntoCache(
          qkv,
          q,
          k,
          v,
          qBias,
          kBias,
          vBias,
          ys,
          us,
          bs,
          scaleArray(),
          headSize,
          positions,
          cos,
          sin,
          keyCache,
          valueCache,
          cacheRows);
      forget();
    }

    private int indexOf(Tensor y) {
      for (int i = 0; i < ys.size(); i++) {
        if (ys.get(i) == y) {
          return i;
        }
      }
      return -1;
    }

    /** Adds the deferred terms, then forgets them. */
    void add(Ops ops) {
      if (!ys.isEmpty()) {
        ops.loraUps(ys, us, bs, scaleArray());
      }
      forget();
    }

    private float[] scaleArray() {
      float[] each = new float[scales.size()];
      for (int i = 0; i < each.length; i++) {
        each[i] = scales.get(i);
      }
      return each;
    }

    private void forget() {
      ys.clear();
      us.clear();
      bs.clear();
      scales.clear();
    }
  }

  /** Whether this projection's adapter is on: its forward then needs u. */
  boolean adapted(boolean adapterOn) {
    return adapterOn && loraA != null;
  }

  /**
   * The converted copy of an input for the product with the weight where the weight itself is
   * stored in reduced precision; a float32 weight (full fine-tuning, a merged adapter) is
   * multiplied with the float32 input instead, so that the weight is not rounded for the product.
   */
  private Tensor productInput(Ops ops, Tensor input, Tensor converted) {
    return productInput(ops, weight.value(), input, converted);
  }

  /** {@link #productInput(Ops, Tensor, Tensor)} for a product with {@code weight}. */
  static Tensor productInput(Ops ops, Tensor weight, Tensor input, Tensor converted) {
    return converted == input || ops.reducedPrecision(weight) ? converted : input;
  }

  /**
   * Backward given {@code dy [N, out]}: {@code dx [N, in]} accumulates (when not null), and every
   * trainable parameter's gradient accumulates. {@code du [N, r]} is scratch.
   */
  void backward(Ops ops, Tensor dx, Tensor dy, Tensor x, Tensor u, Tensor du, boolean adapterOn) {
    backward(ops, dx, true, dy, x, u, du, adapterOn);
  }

  /**
   * As above; with {@code accumulate} false {@code dx} is overwritten instead (its old contents are
   * ignored), which spares the caller zeroing it and the product reading it.
   */
  void backward(
      Ops ops,
      Tensor dx,
      boolean accumulate,
      Tensor dy,
      Tensor x,
      Tensor u,
      Tensor du,
      boolean adapterOn) {
    backward(ops, dx, accumulate, dy, dy, x, u, du, adapterOn);
  }

  /**
   * As above, with {@code dyProduct} the same gradient as the products read it (see {@link
   * Ops#swigluBackwardForProducts}); the adapter and the weight gradient read {@code dy}.
   */
  void backward(
      Ops ops,
      Tensor dx,
      boolean accumulate,
      Tensor dy,
      Tensor dyProduct,
      Tensor x,
      Tensor u,
      Tensor du,
      boolean adapterOn) {
    if (dx != null) {
      ops.gemm(
          dx,
          productInput(ops, dy, dyProduct),
          false,
          weight.value(),
          false,
          1f,
          accumulate ? 1f : 0f);
    }
    Tensor dw = weight.gradIfTrainable(ops);
    if (dw != null) {
      ops.gemm(dw, dy, true, x, false, 1f, 1f);
    }
    if (bias != null && bias.trainable()) {
      ops.sumRowsInto(bias.grad(ops), dy);
    }
    if (adapterOn && loraA != null) {
      // y += s · u · Bᵀ, u = x · Aᵀ
      ops.loraBackward(
          dx,
          du,
          loraA.gradIfTrainable(ops),
          loraB.gradIfTrainable(ops),
          dy,
          x,
          u,
          loraA.value(),
          loraB.value(),
          loraScale);
    }
  }
}
