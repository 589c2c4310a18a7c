package rl.core.safetensors;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Helpers for the "missing tensor" message: a few present names close to the one asked for. */
final class Names {
  private static final int MAX_SUGGESTIONS = 3;

  private Names() {}

  /**
   * " Close names present: 'a', 'b'." or, when nothing is close, " The file has 22 tensors." The
   * leading space lets callers append it to a sentence.
   */
  static String closeNamesHint(String missing, Collection<String> present) {
    // Tensor names differ in a layer number or a projection name, so an edit distance of about a
    // third of the name catches the likely typos without listing unrelated tensors.
    int limit = Math.max(2, missing.length() / 3);
    List<String> close =
        present.stream()
            .map(name -> new Scored(name, distance(missing, name)))
            .filter(scored -> scored.distance <= limit)
            .sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name))
            .limit(MAX_SUGGESTIONS)
            .map(scored -> "'" + scored.name + "'")
            .toList();
    if (close.isEmpty()) {
      return " It has " + present.size() + " tensors.";
    }
    return " Close names present: " + String.join(", ", close) + ".";
  }

  private record Scored(String name, int distance) {}

  /** Levenshtein distance, two rows. */
  static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
