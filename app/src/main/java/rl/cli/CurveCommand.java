package rl.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.run.LearningCurve;

/**
 * {@code rl curve}: draws a run's learning curve from its metrics, for runs that ended before
 * drawing it or ran where no chart could be drawn (a Java runtime without java.desktop).
 */
@Command(
    name = "curve",
    description = "Draw a run's learning curve (held-out pass@1 and reward mean) as a PNG.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true)
final class CurveCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "RUN_DIR", description = "A run directory (holds metrics.jsonl).")
  Path run;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "PNG",
      description = "Where to write the PNG (default: RUN_DIR/learning_curve.png).")
  Path output;

  @Option(names = "--title", description = "The chart's title (default: the run's directory name).")
  String title;

  @Override
  public Integer call() throws IOException {
    Path metrics = run.resolve(LearningCurve.METRICS_FILE);
    if (!Files.isRegularFile(metrics)) {
      throw new Main.InputException(
          metrics + ": no such file; RUN_DIR must be a run directory written by rl train");
    }
    Path png = output != null ? output : run.resolve(LearningCurve.FILE);
    if (!png.getFileName().toString().endsWith(".png")) {
      png = png.resolveSibling(png.getFileName() + ".png"); // what the chart library writes
    }
    Path runName = run.toAbsolutePath().normalize().getFileName();
    String name = title != null ? title : runName == null ? "run" : runName.toString();
    int points;
    try {
      points = LearningCurve.draw(metrics, png, name);
    } catch (IOException e) {
      throw new Main.InputException(e.getMessage());
    } catch (LinkageError e) {
      spec.commandLine()
          .getErr()
          .println("rl: this Java runtime cannot draw charts (" + e + "); use a full JDK");
      return 1;
    }
    spec.commandLine().getOut().printf("rl: wrote %s (%d evaluation points)%n", png, points);
    return 0;
  }
}
