/**
 * Finds reward functions: the built-ins and anything else on the class path through {@link
 * java.util.ServiceLoader}, and plug-in jars from a directory, each in its own class loader whose
 * parent is the rewards API's, so plug-ins see the API (and Jackson, Caffeine) but not each other.
 */
package rl.rewards.plugin;
