package rl.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.ToyTokenizer;
import rl.run.TrainRun;

/**
 * The page in a real browser during a real run: headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}, driven by Selenium) opens the URL {@code rl train} prints for a tiny
 * random model, waits until the charts have received steps over the bridge, checks the charts, the
 * groups table, the status and the config, and saves a screenshot to {@code
 * target/dashboard-browser.png} (and to {@code -Drl.dashboard.screenshot=PATH} when given, after
 * {@code -Drl.dashboard.screenshot.steps=N} steps). CI installs Chromium ({@code .ci/run}) and
 * fails without it; elsewhere the test is skipped, saying what to install.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM =
      Path.of(System.getProperty("rl.chromium", "/usr/bin/chromium"));
  private static final Path CHROMEDRIVER =
      Path.of(System.getProperty("rl.chromedriver", "/usr/bin/chromedriver"));
  private static final int STEPS = 200;

  /** Selenium warns that it has no DevTools bindings for this Chromium; the test needs none. */
  private static final java.util.logging.Logger DEVTOOLS_LOG =
      java.util.logging.Logger.getLogger("org.openqa.selenium.devtools");

  static {
    DEVTOOLS_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  @Test
  void thePageFollowsARealRunOverTheBridge(@TempDir Path dir) throws Exception {
    requireChromium();
    Path config = config(dir, tinyModel(dir));
    Console console = new Console();
    TrainRun run = TrainRun.fresh(config, List.of("dashboard.port=0"), console.stream);
    CompletableFuture<Integer> training =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return run.run();
              } catch (Exception e) {
                throw new CompletionException(e);
              }
            });
    WebDriver driver = null;
    try {
      String url = console.await(Pattern.compile("rl: dashboard at (\\S+)"), training);
      assertTrue(url.startsWith("http://127.0.0.1:"), url);
      driver = chrome(dir.resolve("chromium-profile"));
      JavascriptExecutor page = (JavascriptExecutor) driver;
      driver.get(url);

      // Steps arrive over the bridge: the page was opened after the run started.
      waitFor(
          page,
          "return window.rlDashboard && rlDashboard.ready() && rlDashboard.bridgeState() === 'open'"
              + " && rlDashboard.bridgeRecords() >= 3 && rlDashboard.bridgeGroups() >= 2",
          training,
          console);
      assertEquals("open", page.executeScript("return document.body.dataset.bridge"));
      assertEquals("live", text(page, "#bridge"));

      // Charts: every metric of a training step is plotted; pass@1 from the evaluations.
      for (String chart :
          List.of(
              "reward", "loss", "is", "clipped", "kl", "entropy", "grad", "tps", "lag", "errors")) {
        long points = points(page, chart);
        assertTrue(points >= 3, chart + " has " + points + " points");
      }
      assertTrue(points(page, "pass") >= 1, "pass@1 from the baseline evaluation");
      long plotted = (Long) page.executeScript("return rlDashboard.pointCount()");
      assertTrue(plotted >= 3, "steps plotted: " + plotted);

      // The groups table: prompt, four completions each with reward and advantage.
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> rows =
          (List<Map<String, Object>>)
              page.executeScript(
                  """
                  return [...document.querySelectorAll('#groups tbody tr')].map(tr => ({
                    prompt: tr.querySelector('td.prompt').textContent,
                    rewards: [...tr.querySelectorAll('.reward')].map(e => Number(e.textContent)),
                    advantages: [...tr.querySelectorAll('.adv')].map(e => Number(e.textContent)),
                    texts: tr.querySelectorAll('.text').length }))
                  """);
      assertTrue(rows.size() >= 2, "group rows: " + rows);
      for (Map<String, Object> row : rows) {
        assertFalse(((String) row.get("prompt")).isBlank(), row.toString());
        assertEquals(4L, row.get("texts"), row.toString());
        @SuppressWarnings("unchecked")
        List<Number> rewards = (List<Number>) row.get("rewards");
        @SuppressWarnings("unchecked")
        List<Number> advantages = (List<Number>) row.get("advantages");
        double mean = rewards.stream().mapToDouble(Number::doubleValue).average().orElseThrow();
        for (int i = 0; i < 4; i++) {
          double expected = rewards.get(i).doubleValue() - mean;
          if (rewards.stream().allMatch(r -> r.doubleValue() == rewards.get(0).doubleValue())) {
            expected = 0;
          }
          assertEquals(expected, advantages.get(i).doubleValue(), 2e-3, "advantage in " + row);
        }
      }

      // Status and config.
      assertEquals("running", text(page, "#state"));
      assertEquals(String.valueOf(STEPS), text(page, "#steps"));
      assertTrue(Integer.parseInt(text(page, "#step")) >= 1, text(page, "#step"));
      assertTrue(text(page, "#elapsed").matches("\\d+m \\d\\ds"), text(page, "#elapsed"));
      assertTrue(text(page, "#eta").matches("\\d+(m \\d\\ds|h \\d\\dm)"), text(page, "#eta"));
      String shownConfig = text(page, "#config");
      assertTrue(shownConfig.contains("group_size: 4"), shownConfig);
      assertTrue(shownConfig.contains("dashboard:"), shownConfig);
      assertEquals("browser", text(page, "#run-name"));
      assertEquals(List.of(), page.executeScript("return rlDashboard.errors()"));

      int screenshotSteps = Integer.getInteger("rl.dashboard.screenshot.steps", 0);
      if (screenshotSteps > 0) {
        waitFor(page, "return rlDashboard.pointCount() >= " + screenshotSteps, training, console);
        Thread.sleep(1500); // the next status tick and a sampler reading
      }
      byte[] png = ((ChromeDriver) driver).getScreenshotAs(OutputType.BYTES);
      assertTrue(png.length > 10_000, "screenshot of " + png.length + " bytes");
      Path shot = Path.of("target", "dashboard-browser.png");
      Files.createDirectories(shot.getParent());
      Files.write(shot, png);
      String copy = System.getProperty("rl.dashboard.screenshot");
      if (copy != null && !copy.isBlank()) {
        Files.copy(shot, Path.of(copy), StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      run.requestStop();
      if (driver != null) {
        driver.quit();
      }
      try {
        training.get(3, TimeUnit.MINUTES);
      } catch (TimeoutException e) {
        throw new AssertionError("the run did not stop: " + console.text(), e);
      }
    }
    assertTrue(console.text().contains("run finished"), console.text());
  }

  private static void requireChromium() {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    String message =
        "the browser test needs Chromium and its driver at "
            + CHROMIUM
            + " and "
            + CHROMEDRIVER
            + " (Debian: apt-get install chromium chromium-driver; .ci/run installs them; other"
            + " paths: -Drl.chromium=... -Drl.chromedriver=...)";
    if (!present && System.getenv("CI") != null) {
      fail("CI must run the browser test: " + message);
    }
    Assumptions.assumeTrue(present, message);
  }

  private static ChromeDriver chrome(Path profile) throws IOException {
    Files.createDirectories(profile);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        "--window-size=1440,1500",
        "--hide-scrollbars",
        "--force-device-scale-factor=1");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  /** Polls {@code script} until it returns true, for at most three minutes. */
  private static void waitFor(
      JavascriptExecutor page, String script, CompletableFuture<Integer> training, Console console)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      if (Boolean.TRUE.equals(page.executeScript(script))) {
        return;
      }
      if (training.isDone()) {
        fail("the run ended before the page saw it: " + console.text() + " " + state(page));
      }
      Thread.sleep(200);
    }
    fail(
        "timed out waiting for: " + script + "; page: " + state(page) + "; run: " + console.text());
  }

  private static Object state(JavascriptExecutor page) {
    return page.executeScript(
        "return window.rlDashboard ? {bridge: rlDashboard.bridgeState(), records:"
            + " rlDashboard.bridgeRecords(), groups: rlDashboard.bridgeGroups(), points:"
            + " rlDashboard.pointCount(), errors: rlDashboard.errors(), error:"
            + " document.getElementById('error').textContent} : 'no rlDashboard'");
  }

  private static long points(JavascriptExecutor page, String chart) {
    return (Long)
        page.executeScript(
            "const c = Chart.getChart(document.querySelector('#chart-' + arguments[0] + ' canvas'));"
                + " return Math.max(...c.data.datasets.map(d => d.data.length));",
            chart);
  }

  private static String text(JavascriptExecutor page, String selector) {
    return ((String)
            page.executeScript("return document.querySelector(arguments[0]).textContent", selector))
        .trim();
  }

  private static Path tinyModel(Path dir) throws IOException {
    Path model = dir.resolve("model");
    Decoder.random(
            HfModelConfig.llama(32, 48, 1, 2, 1, ToyTokenizer.VOCAB_SIZE), new Nd4jOps(), 1, 0.3)
        .saveHuggingFace(model);
    ToyTokenizer.write(model);
    return model;
  }

  /**
   * A run of the tiny random model. Its reward is a weighted sum of four character checks, so a
   * step whose groups all score equally (no advantage anywhere) is improbable. Evaluations run only
   * at the start and the end, unless the README's screenshot is being made.
   */
  private static Path config(Path dir, Path model) throws IOException {
    int evalEvery = Integer.getInteger("rl.dashboard.screenshot.steps", 0) > 0 ? 5 : 0;
    String yaml =
        """
        name: browser
        seed: 3
        runs_dir: %s
        model: {path: %s}
        lora: {rank: 1, alpha: 32}
        sampling: {temperature: 1.0, max_tokens: 6}
        optimizer: {lr: 0.01}
        training: {steps: %d, group_size: 4, groups_per_step: 2, checkpoint_every: 0, micro_batch_tokens: 256}
        task: {name: arithmetic, params: {digits: 1}, train_size: 20, eval_size: 3}
        rewards:
          functions:
            - {name: regex, label: digit, params: {pattern: '[0-9]', match: find}}
            - {name: regex, label: lower, weight: 0.5, params: {pattern: '[a-z]', match: find}}
            - {name: regex, label: upper, weight: 0.25, params: {pattern: '[A-Z]', match: find}}
            - {name: regex, label: punct, weight: 0.125, params: {pattern: '[!-/]', match: find}}
        eval: {every: %d, samples: 2}
        """
            .formatted(dir.resolve("runs"), model, STEPS, evalEvery);
    return Files.writeString(dir.resolve("browser.yaml"), yaml);
  }

  /** The run's console, readable while it runs. */
  private static final class Console {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    String text() {
      synchronized (bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
      }
    }

    /** The first group of the first line matching {@code pattern}, within three minutes. */
    String await(Pattern pattern, CompletableFuture<Integer> training) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (System.nanoTime() < deadline) {
        Matcher m = pattern.matcher(text());
        if (m.find()) {
          return m.group(1);
        }
        if (training.isDone()) {
          try {
            training.get();
          } catch (ExecutionException e) {
            throw new AssertionError("the run failed: " + text(), e.getCause());
          }
          fail("the run ended without printing " + pattern + ": " + text());
        }
        Thread.sleep(100);
      }
      throw new AssertionError("no " + pattern + " within three minutes: " + text());
    }
  }
}
