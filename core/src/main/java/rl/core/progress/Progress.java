package rl.core.progress;

import java.io.PrintStream;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of long work (loading weights, a benchmark): a live bar when the console is a terminal,
 * plain lines at a slow interval otherwise (CI logs, redirected output), so logs stay readable.
 *
 * <pre>{@code
 * try (Progress progress = Progress.start("loading weights", tensors, "tensors")) {
 *   for (...) { ...; progress.step(1); }
 * }
 * }</pre>
 */
public final class Progress implements AutoCloseable {
  /** How often plain-line mode prints, so a long load leaves a handful of lines, not thousands. */
  static final Duration PLAIN_INTERVAL = Duration.ofSeconds(10);

  private final ProgressBar bar;

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  /** Starts progress on standard error, as a bar only if standard error's console is a terminal. */
  public static Progress start(String task, long total, String unit) {
    boolean terminal = System.console() != null && System.console().isTerminal();
    return start(task, total, unit, System.err, terminal);
  }

  /** Starts progress on {@code out}; {@code terminal} picks the live bar over plain lines. */
  public static Progress start(
      String task, long total, String unit, PrintStream out, boolean terminal) {
    ProgressBarBuilder builder =
        new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(total)
            .setUnit(" " + unit, 1)
            .showSpeed()
            .continuousUpdate();
    if (terminal) {
      builder
          .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
          .setConsumer(new ConsoleProgressBarConsumer(out));
    } else {
      builder
          .setStyle(ProgressBarStyle.ASCII)
          .setUpdateIntervalMillis((int) PLAIN_INTERVAL.toMillis())
          .setConsumer(new DelegatingProgressBarConsumer(out::println, 100));
    }
    return new Progress(builder.build());
  }

  public void step(long amount) {
    bar.stepBy(amount);
  }

  public long current() {
    return bar.getCurrent();
  }

  /** Finishes the bar; plain-line mode prints its final line here. */
  @Override
  public void close() {
    bar.close();
  }
}
