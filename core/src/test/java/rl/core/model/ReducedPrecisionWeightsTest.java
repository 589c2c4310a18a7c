package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * What the model does with a backend that stores base weights in reduced precision (CudaOps in
 * bf16), seen through ND4J with the weights merely marked: only the big matrices go through {@link
 * Ops#uploadWeight}, and weights that get trained or merged into are turned into full-precision
 * tensors first (an optimizer or a merge into bf16 would round small updates away).
 */
class ReducedPrecisionWeightsTest {
  private final Set<Tensor> marked = Collections.newSetFromMap(new IdentityHashMap<>());

  private Ops markingOps() {
    Ops real = new Nd4jOps();
    return (Ops)
        Proxy.newProxyInstance(
            Ops.class.getClassLoader(),
            new Class<?>[] {Ops.class},
            (proxy, method, args) -> {
              switch (method.getName()) {
                case "uploadWeight" -> {
                  Tensor t = real.upload((float[]) args[0], (int) args[1], (int) args[2]);
                  marked.add(t);
                  return t;
                }
                case "reducedPrecision" -> {
                  return marked.contains((Tensor) args[0]);
                }
                case "rows" -> { // a view of a reduced tensor is reduced too (q/k/v's weights)
                  Tensor view = real.rows((Tensor) args[0], (int) args[1], (int) args[2]);
                  if (marked.contains((Tensor) args[0])) {
                    marked.add(view);
                  }
                  return view;
                }
                default -> {
                  try {
                    return method.invoke(real, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                }
              }
            });
  }

  private static final HfModelConfig CONFIG = HfModelConfig.llama(32, 48, 2, 4, 2, 50);

  @Test
  void onlyProjectionsEmbeddingAndHeadAreStoredReduced() {
    Decoder model = Decoder.random(CONFIG, markingOps(), 3);
    for (Parameter p : model.parameters()) {
      boolean matrix =
          p.name().endsWith("proj.weight")
              || p.name().contains("embed_tokens")
              || p.name().equals("lm_head.weight");
      assertEquals(matrix, marked.contains(p.value()), p.name());
    }
  }

  @Test
  void mergingAnAdapterTurnsTheMergedWeightsFullPrecision() {
    Ops ops = markingOps();
    Decoder model = Decoder.random(CONFIG, ops, 3);
    Linear q = model.linears().getFirst();
    float[] before = ops.download(q.weight().value());
    // rank 1: A [1, in], B [out, 1]
    float[] av = new float[q.in()];
    float[] bv = new float[q.out()];
    for (int i = 0; i < av.length; i++) {
      av[i] = 0.01f * (i + 1);
    }
    for (int o = 0; o < bv.length; o++) {
      bv[o] = 0.5f - 0.01f * o;
    }
    q.setLora(
        new Parameter("A", ops.upload(av, 1, q.in())),
        new Parameter("B", ops.upload(bv, q.out(), 1)),
        2f);
    model.mergeAdapter();
    assertFalse(marked.contains(q.weight().value()), "merged weight is full precision");
    float[] after = ops.download(q.weight().value());
    float[] expected = new float[before.length];
    for (int o = 0; o < q.out(); o++) {
      for (int i = 0; i < q.in(); i++) {
        expected[o * q.in() + i] = before[o * q.in() + i] + 2f * bv[o] * av[i];
      }
    }
    assertArrayEquals(expected, after, 1e-6f);
    assertTrue(marked.contains(model.linears().get(1).weight().value()), "k_proj untouched");
  }

  /**
   * Where a backend converts product inputs (q/k/v and gate/up inputs, SwiGLU's output and its
   * gradients), the copies meet reduced-precision weights only: a float32 weight (trained base,
   * merged adapter) is multiplied with the float32 input instead of being rounded for the product.
   */
  @Test
  void convertedProductInputsMeetOnlyReducedPrecisionWeights() {
    Ops real = new Nd4jOps();
    Ops marking = markingOps();
    Set<Tensor> converted = Collections.newSetFromMap(new IdentityHashMap<>());
    List<String> misuse = new ArrayList<>();
    int[] convertedProducts = {0};
    java.util.function.Function<Tensor, Tensor> convert =
        x -> {
          Tensor copy = real.zeros(x.rows(), x.cols());
          real.copy(copy, x);
          converted.add(copy);
          return copy;
        };
    Ops ops =
        (Ops)
            Proxy.newProxyInstance(
                Ops.class.getClassLoader(),
                new Class<?>[] {Ops.class},
                (proxy, method, args) -> {
                  switch (method.getName()) {
                    case "productOperand" -> {
                      return convert.apply((Tensor) args[0]);
                    }
                    case "swigluForProduct" -> {
                      marking.swiglu((Tensor) args[0], (Tensor) args[1], (Tensor) args[2]);
                      return convert.apply((Tensor) args[0]);
                    }
                    case "rmsnormForProduct", "addRmsnormForProduct" -> {
                      // the norm (and its adapters' u) as the backend does it, then the copy
                      invoke(method, marking, args);
                      return convert.apply(
                          (Tensor) args[method.getName().equals("rmsnormForProduct") ? 0 : 1]);
                    }
                    case "swigluBackwardForProducts" -> {
                      marking.swigluBackward(
                          (Tensor) args[0],
                          (Tensor) args[1],
                          (Tensor) args[2],
                          (Tensor) args[3],
                          (Tensor) args[4]);
                      return new Ops.GatedPair(
                          convert.apply((Tensor) args[0]), convert.apply((Tensor) args[1]));
                    }
                    case "gemm" -> {
                      Tensor a = (Tensor) args[1];
                      Tensor b = (Tensor) args[3];
                      if (converted.contains(a)) {
                        if (marked.contains(b)) {
                          convertedProducts[0]++;
                        } else {
                          misuse.add(a.shapeString() + " x float32 " + b.shapeString());
                        }
                      }
                    }
                    default -> {}
                  }
                  return invoke(method, marking, args);
                });
    Decoder model = Decoder.random(CONFIG, ops, 3);
    LoraAdapter.create(
        model, new LoraConfig(1, 2, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false), 5);
    List<int[]> sequences = List.of(new int[] {1, 5, 3, 9}, new int[] {4, 7, 2});
    float[][] weights = {{0.5f, -1f, 0.25f}, {1f, -0.5f}};
    Activations acts = model.newActivations(7, true);
    model.sequenceLogprobs(acts, sequences, 1f);
    model.backwardFromLogprobs(acts, weights, 1f);
    // 7 projections forward per layer, and gate, up and down's input gradients backward
    assertTrue(convertedProducts[0] >= CONFIG.numLayers() * 7, "products of converted inputs");
    assertTrue(misuse.isEmpty(), "converted inputs met float32 weights: " + misuse);

    model.setBaseTrainable(true);
    Activations trained = model.newActivations(7, true);
    model.sequenceLogprobs(trained, sequences, 1f);
    model.backwardFromLogprobs(trained, weights, 1f);
    assertTrue(misuse.isEmpty(), "converted inputs met float32 weights: " + misuse);
  }

  @Test
  void trainingTheBaseTurnsEveryWeightFullPrecision() {
    Decoder model = Decoder.random(CONFIG, markingOps(), 3);
    model.setBaseTrainable(true);
    for (Parameter p : model.parameters()) {
      assertFalse(marked.contains(p.value()), p.name());
      assertTrue(p.trainable(), p.name());
    }
  }

  private static Object invoke(java.lang.reflect.Method method, Ops target, Object[] args)
      throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
