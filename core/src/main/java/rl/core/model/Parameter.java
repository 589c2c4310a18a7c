package rl.core.model;

import java.util.List;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * A named tensor of the model (a weight, a norm scale, a LoRA matrix) with its gradient. Names are
 * the checkpoint's key names, so saving and loading need no mapping. The gradient is allocated on
 * first use and accumulates until {@link #zeroGrad}.
 */
public final class Parameter {
  private final String name;
  private Tensor value;
  private Tensor grad;
  private boolean trainable;

  public Parameter(String name, Tensor value) {
    this.name = name;
    this.value = value;
  }

  public String name() {
    return name;
  }

  public Tensor value() {
    return value;
  }

  public void setValue(Tensor value) {
    this.value = value;
  }

  /**
   * Whether {@code parameters} still hold exactly {@code values}, pairwise by identity: for work
   * prepared against their tensors (planned copies), which a replaced value makes stale.
   */
  public static boolean holdValues(List<Parameter> parameters, List<Tensor> values) {
    if (parameters.size() != values.size()) {
      return false;
    }
    for (int i = 0; i < parameters.size(); i++) {
      if (parameters.get(i).value() != values.get(i)) {
        return false;
      }
    }
    return true;
  }

  public boolean trainable() {
    return trainable;
  }

  public void setTrainable(boolean trainable) {
    this.trainable = trainable;
  }

  /**
   * Replaces a value the backend stores in reduced precision (bf16) by a float32 copy: for weights
   * that get trained or merged into, where updates below half a bf16 step would be rounded away.
   */
  public void ensureFullPrecision(Ops ops) {
    if (ops.reducedPrecision(value)) {
      value = ops.upload(ops.download(value), value.rows(), value.cols());
    }
  }

  /** The gradient, allocated (zero) on first call; only trainable parameters accumulate one. */
  public Tensor grad(Ops ops) {
    if (grad == null) {
      grad = ops.zeros(value.rows(), value.cols());
    }
    return grad;
  }

  /** The gradient if this parameter is trainable, else null (backward then skips it). */
  Tensor gradIfTrainable(Ops ops) {
    return trainable ? grad(ops) : null;
  }

  public boolean hasGrad() {
    return grad != null;
  }

  /** Drops the gradient buffer (after a one-off use, such as a gradient-based init). */
  public void releaseGrad() {
    grad = null;
  }

  public void zeroGrad(Ops ops) {
    if (grad != null) {
      ops.fill(grad, 0f);
    }
  }

  @Override
  public String toString() {
    return name + value.shapeString();
  }
}
