package rl.cli;

/** How one-shot commands report the tensor backend: only a GPU choice is worth a line. */
final class CliBackend {
  private CliBackend() {}

  static void report(String line) {
    if (line.startsWith("backend: cuda")) {
      System.err.println("rl: " + line);
    }
  }
}
