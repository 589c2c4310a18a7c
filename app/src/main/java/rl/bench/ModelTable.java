package rl.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.factory.Nd4j;

/** Prints {@link ModelBench} reports as a table and as JSON-ready maps. */
public final class ModelTable {
  private ModelTable() {}

  /** The machine and JVM limits, one line. */
  public static String environment() {
    Runtime runtime = Runtime.getRuntime();
    String vendor = System.getProperty("java.vendor.version", System.getProperty("java.vendor"));
    return String.format(
        Locale.ROOT,
        "machine: %d cores, Java %s (%s), ND4J nd4j-native (OpenBLAS) with %d threads;"
            + " max heap %s, JavaCPP off-heap limit %s, physical limit %s",
        runtime.availableProcessors(),
        Runtime.version(),
        vendor,
        Nd4j.getEnvironment().maxThreads(),
        Format.bytes(runtime.maxMemory()),
        Format.bytes(Pointer.maxBytes()),
        Pointer.maxPhysicalBytes() > 0 ? Format.bytes(Pointer.maxPhysicalBytes()) : "none");
  }

  /** The report as a table with notes, then (when asked) each kernel profile. */
  public static void print(ModelBench.Report report, PrintWriter out) {
    ModelBench.Settings s = report.settings();
    ModelShape shape = report.shape();
    out.println();
    out.println("model " + shape.describe(report.parameters()));
    out.printf(
        Locale.ROOT,
        "adapter: rank-1 LoRA (alpha 32) on all 7 projections of every layer, %s parameters;"
            + " random weights, seed %d%n",
        Format.count(report.loraParameters()),
        s.seed());
    if (s.generate()) {
      boolean defaultNew = s.newTokens() == shape.defaultNewTokens();
      out.printf(
          Locale.ROOT,
          "generation: %d-token prompts, %d new tokens (decode steps)%s, greedy argmax on the"
              + " host; every KV-cache slot busy every step (occupancy 100%%)%n",
          s.promptTokens(),
          s.newTokens(),
          defaultNew ? ", the " + shape.id() + " default" : "");
    }
    if (s.train()) {
      int micros = (s.trainSeqs() + s.microSeqs() - 1) / s.microSeqs();
      out.printf(
          Locale.ROOT,
          "learner: %d × %d tokens per step in %d micro-batch%s of %d × %d (gradients"
              + " accumulate), logprobs + importance-sampling gradient + backward, no optimizer;"
              + " %d timed step%s%n",
          s.trainSeqs(),
          s.trainLen(),
          micros,
          micros == 1 ? "" : "es",
          s.microSeqs(),
          s.trainLen(),
          s.trainSteps(),
          s.trainSteps() == 1 ? "" : "s");
    }
    out.printf(
        Locale.ROOT,
        "warm-up: %d untimed round%s per measurement; set-up %s s (peak RSS %s)%n",
        s.warmup(),
        s.warmup() == 1 ? "" : "s",
        Format.seconds(report.setupSeconds()),
        Format.bytes(report.setupMemory().resident()));
    out.println();
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "phase",
          "batch",
          "tokens",
          "seconds",
          "tokens/s",
          "peak heap",
          "peak off-heap",
          "peak RSS",
          "notes"
        });
    for (ModelBench.Result r : report.results()) {
      rows.add(
          new String[] {
            r.phase(),
            Integer.toString(r.batch()),
            String.format(Locale.ROOT, "%,d", r.tokens()),
            Format.seconds(r.seconds()),
            Format.rate(r.tokensPerSecond()),
            Format.bytes(r.memory().heap()),
            Format.bytes(r.memory().offHeap()),
            Format.bytes(r.memory().resident()),
            notes(r)
          });
    }
    printAligned(rows, out);
    for (ModelBench.Result r : report.results()) {
      if (!r.kernels().isEmpty()) {
        out.println();
        out.printf(
            Locale.ROOT,
            "kernels, %s B=%d (%s s):%n",
            r.phase(),
            r.batch(),
            Format.seconds(r.seconds()));
        long kernelNanos = 0;
        for (ProfilingOps.Entry e : r.kernels()) {
          kernelNanos += e.nanos();
          out.printf(
              Locale.ROOT,
              "  %-26s %6s %9s s %,10d calls%n",
              e.kernel().name().toLowerCase(Locale.ROOT),
              Format.percent(e.nanos() / 1e9 / r.seconds()),
              Format.seconds(e.nanos() / 1e9),
              e.calls());
        }
        double outside = r.seconds() - kernelNanos / 1e9;
        out.printf(
            Locale.ROOT,
            "  %-26s %6s %9s s%n",
            "outside kernels",
            Format.percent(outside / r.seconds()),
            Format.seconds(outside));
      }
    }
    out.flush();
  }

  private static String notes(ModelBench.Result r) {
    Map<String, Object> d = r.details();
    return switch (r.phase()) {
      case "decode" ->
          String.format(
              Locale.ROOT,
              "%.2f ms/step: forward %s, logits %s, host %s; occupancy 100%%%s",
              (Double) d.get("step_ms"),
              Format.percent((Double) d.get("forward_s") / r.seconds()),
              Format.percent((Double) d.get("logits_s") / r.seconds()),
              Format.percent((Double) d.get("host_s") / r.seconds()),
              d.containsKey("gain_vs_b1")
                  ? String.format(Locale.ROOT, "; %.2fx B=1", (Double) d.get("gain_vs_b1"))
                  : "");
      case "prefill" ->
          (int) d.get("repeats") == 1 ? "" : "mean of " + d.get("repeats") + " repeats";
      case "generate" -> "prefill + decode, new tokens only (as the PyTorch baseline counts)";
      case "train" ->
          String.format(
              Locale.ROOT,
              "forward %s, backward %s; %s micro-batch(es) of %s seqs; mean logprob %.3f",
              Format.percent(((Double) d.get("forward_s")) / r.seconds()),
              Format.percent(((Double) d.get("backward_s")) / r.seconds()),
              d.get("micro_batches"),
              d.get("micro_batch_seqs"),
              (Double) d.get("mean_logprob"));
      default -> "";
    };
  }

  /** One result as a flat JSON object (kernel times nested when profiled). */
  public static Map<String, Object> json(ModelBench.Report report, ModelBench.Result r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("bench", "model");
    m.put("shape", report.shape().id());
    m.put("phase", r.phase());
    m.put("batch", r.batch());
    m.put("tokens", r.tokens());
    m.put("seconds", r.seconds());
    m.put("tokens_per_s", r.tokensPerSecond());
    m.putAll(r.details());
    m.put("warmup", report.settings().warmup());
    m.put("seed", report.settings().seed());
    m.put("peak_heap_bytes", r.memory().heap());
    m.put("peak_offheap_bytes", r.memory().offHeap());
    m.put("peak_rss_bytes", r.memory().resident());
    if (!r.kernels().isEmpty()) {
      Map<String, Object> kernels = new LinkedHashMap<>();
      for (ProfilingOps.Entry e : r.kernels()) {
        kernels.put(e.kernel().name().toLowerCase(Locale.ROOT), e.nanos() / 1e9);
      }
      m.put("kernels_s", kernels);
    }
    return m;
  }

  /** Right-aligns the numeric columns, left-aligns the first and last. */
  private static void printAligned(List<String[]> rows, PrintWriter out) {
    int columns = rows.get(0).length;
    int[] width = new int[columns];
    for (String[] row : rows) {
      for (int c = 0; c < columns; c++) {
        width[c] = Math.max(width[c], row[c].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        boolean left = c == 0 || c == columns - 1;
        String cell = row[c];
        String pad = " ".repeat(width[c] - cell.length());
        if (c > 0) {
          line.append("  ");
        }
        line.append(left ? cell + (c == columns - 1 ? "" : pad) : pad + cell);
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
