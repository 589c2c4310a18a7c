package rl.sampler;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.function.BiConsumer;
import rl.core.tensor.Ops;

/** A backend for tests that shows each call to a hook (which may count it, or throw) first. */
final class WatchedOps {
  private WatchedOps() {}

  /** {@code real}, with {@code before} given each call's method name and arguments first. */
  static Ops of(Ops real, BiConsumer<String, Object[]> before) {
    return (Ops)
        Proxy.newProxyInstance(
            Ops.class.getClassLoader(),
            new Class<?>[] {Ops.class},
            (proxy, method, args) -> {
              before.accept(method.getName(), args);
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
