package rl.core.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressTest {
  @Test
  void withoutATerminalPrintsPlainLinesOnly() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (Progress progress = Progress.start("loading weights", 10, "tensors", out, false)) {
      for (int i = 0; i < 10; i++) {
        progress.step(1);
      }
      assertEquals(10, progress.current());
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
    assertFalse(lines.isEmpty(), "no progress line printed");
    String last = lines.getLast();
    assertTrue(last.contains("loading weights") && last.contains("10/10"), last);
    // No carriage returns or ANSI escapes: a CI log stays readable.
    assertFalse(text.contains("\r"), text);
    assertFalse(text.contains("\u001b["), text);
  }
}
