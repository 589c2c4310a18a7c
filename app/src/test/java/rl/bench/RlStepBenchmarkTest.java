package rl.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The RL-step benchmark runs whole steps on the CPU and accounts for every phase. */
class RlStepBenchmarkTest {
  @Test
  void timesEveryPhaseOfWholeSteps() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      RlStepBenchmark.main(new String[] {"small", "2", "2", "8", "8", "4096", "2"});
    } finally {
      System.setOut(original);
    }
    String out = captured.toString(StandardCharsets.UTF_8);
    Matcher step =
        Pattern.compile(
                "small step 2: (\\d+) ms = sampling (\\d+) \\+ scoring [\\d.]+ \\+ learning (\\d+)"
                    + " \\+ sync [\\d.]+ ms \\(4 sequences x 8 new tokens, 56 tensors synced\\)")
            .matcher(out);
    assertTrue(step.find(), out);
    int total = Integer.parseInt(step.group(1));
    int parts = Integer.parseInt(step.group(2)) + Integer.parseInt(step.group(3));
    assertTrue(parts <= total + 2 && parts > 0, out);
    assertTrue(out.contains("small mean of steps 2..2:"), out);
  }
}
