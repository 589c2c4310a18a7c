package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rl curve}: redraws a run's learning curve from its metrics. */
class CurveCommandTest {
  @Test
  void drawsThePngFromTheRunsMetrics(@TempDir Path run) throws Exception {
    Files.writeString(
        run.resolve("metrics.jsonl"),
        """
        {"step":0,"eval_pass_at_1":0.1}
        {"step":1,"reward_mean":0.2}
        {"step":2,"reward_mean":0.4,"eval_pass_at_1":0.3}
        """);
    Path png = run.resolve("elsewhere.png");
    CliTest.Result result = CliTest.rl("curve", run.toString(), "-o", png.toString());
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(result.out().contains("2 evaluation points"), result.out());
    byte[] bytes = Files.readAllBytes(png);
    assertTrue(bytes.length > 1000, "a PNG of " + bytes.length + " bytes");
    assertEquals((byte) 0x89, bytes[0]);
    assertEquals('P', bytes[1]);
  }

  @Test
  void anOutputWithoutThePngExtensionGetsIt(@TempDir Path run) throws Exception {
    Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":1,\"reward_mean\":0.5}\n");
    CliTest.Result result = CliTest.rl("curve", run.toString(), "-o", run.resolve("c").toString());
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(result.out().contains(run.resolve("c.png").toString()), result.out());
    assertTrue(Files.size(run.resolve("c.png")) > 1000);
  }

  @Test
  void aDirectoryWithoutMetricsOrPointsIsAClearError(@TempDir Path run) throws Exception {
    CliTest.Result missing = CliTest.rl("curve", run.toString());
    assertEquals(2, missing.exitCode());
    assertTrue(
        missing.err().contains(run.resolve("metrics.jsonl") + ": no such file"), missing.err());

    Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":0,\"loss\":1.0}\n");
    CliTest.Result empty = CliTest.rl("curve", run.toString());
    assertEquals(2, empty.exitCode());
    assertTrue(empty.err().contains("no eval_pass_at_1 or reward_mean"), empty.err());
  }
}
