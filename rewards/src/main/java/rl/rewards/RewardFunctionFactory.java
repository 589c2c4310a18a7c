package rl.rewards;

import java.util.Map;

/**
 * Makes reward functions by name: the service a plug-in registers so configs can use it.
 *
 * <p>Register an implementation in {@code META-INF/services/rl.rewards.RewardFunctionFactory}; it
 * needs a public no-argument constructor. Built-ins are found on the class path, plug-ins in the
 * configured plug-in directory, each jar with its own class loader.
 */
public interface RewardFunctionFactory {
  /** The name configs use; unique among all factories found. */
  String name();

  /** One line on what the function rewards, for listings. */
  default String description() {
    return "";
  }

  /**
   * Creates a configured function. Validates {@code params} up front and throws {@link
   * RewardConfigException} naming the function, the key, the bad value and what was expected
   * ({@link Params} does this); an unknown key is an error too.
   *
   * @param params the function's parameters from the config (YAML values: strings, numbers,
   *     booleans, lists, maps)
   */
  RewardFunction create(Map<String, Object> params);
}
