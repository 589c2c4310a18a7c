package rl.run;

/**
 * Sample-request ids of a run: {@code KIND:STEP:INDEX:PROBLEM_ID}, kind {@code train}, {@code
 * greedy} (evaluation, temperature 0) or {@code sampled} (evaluation at the run's temperature).
 */
final class RequestIds {
  static final String TRAIN = "train";
  static final String GREEDY = "greedy";
  static final String SAMPLED = "sampled";

  private RequestIds() {}

  record Parsed(String kind, int step, int index, String problemId) {}

  static String of(String kind, int step, int index, String problemId) {
    return kind + ":" + step + ":" + index + ":" + problemId;
  }

  static Parsed parse(String id) {
    String[] parts = id.split(":", 4);
    if (parts.length != 4) {
      throw new IllegalArgumentException("not a run request id: " + id);
    }
    return new Parsed(parts[0], Integer.parseInt(parts[1]), Integer.parseInt(parts[2]), parts[3]);
  }
}
