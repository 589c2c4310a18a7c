package rl.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws a run's learning curve from its {@code metrics.jsonl}: held-out greedy pass@1 (eval steps)
 * and the training reward mean (every step) against the step, as a PNG.
 */
public final class LearningCurve {
  /** The curve's file name in a run directory. */
  public static final String FILE = "learning_curve.png";

  /** The metrics file a run directory holds, which the curve is drawn from. */
  public static final String METRICS_FILE = RunRecorder.METRICS_FILE;

  private static final ObjectMapper JSON = new ObjectMapper();

  private LearningCurve() {}

  /** Reads {@code metrics} and writes {@code png}; returns the number of eval points drawn. */
  public static int draw(Path metrics, Path png, String title) throws IOException {
    List<Double> evalSteps = new ArrayList<>();
    List<Double> passAt1 = new ArrayList<>();
    List<Double> trainSteps = new ArrayList<>();
    List<Double> reward = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode row = JSON.readTree(line);
      double step = row.path("step").asDouble();
      if (row.has("eval_pass_at_1")) {
        evalSteps.add(step);
        passAt1.add(row.get("eval_pass_at_1").asDouble());
      }
      if (row.has("reward_mean")) {
        trainSteps.add(step);
        reward.add(row.get("reward_mean").asDouble());
      }
    }
    if (evalSteps.isEmpty() && trainSteps.isEmpty()) {
      throw new IOException(metrics + ": no eval_pass_at_1 or reward_mean to draw");
    }
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(500)
            .title(title)
            .xAxisTitle("step")
            .yAxisTitle("")
            .build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    if (!trainSteps.isEmpty()) {
      XYSeries s = chart.addSeries("train reward mean", trainSteps, reward);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(new Color(120, 160, 220));
    }
    if (!evalSteps.isEmpty()) {
      XYSeries s = chart.addSeries("held-out greedy pass@1", evalSteps, passAt1);
      s.setMarker(SeriesMarkers.CIRCLE);
      s.setLineColor(new Color(200, 60, 40));
      s.setMarkerColor(new Color(200, 60, 40));
    }
    Files.createDirectories(png.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    return evalSteps.size();
  }
}
