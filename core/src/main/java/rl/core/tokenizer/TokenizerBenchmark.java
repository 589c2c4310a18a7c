package rl.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Measures tokenizer encode throughput (one thread) on about {@code megabytes} MB of mixed text,
 * and chat-template render time, for the tokenizer directories given. Prints one line per
 * directory. Run: {@code java -cp ... rl.core.tokenizer.TokenizerBenchmark MB DIR...}.
 */
public final class TokenizerBenchmark {
  private static final List<String> PIECES =
      List.of(
          "The quick brown fox jumps over the lazy dog. ",
          "Reinforcement learning with verifiable rewards scores each completion. ",
          "What is 127 + 389? The answer is \\boxed{516}. ",
          "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }\n",
          "def f(x):\n    return x ** 2 + 3 * x - 7\n",
          "價格是 42 元，請在三天內付款。",
          "Résumé naïve café — déjà vu. ",
          "Привет, как дела? ",
          "🙂🚀 emoji 👨‍👩‍👧 mixed in. ",
          "{\"id\": 17, \"values\": [1.5, 2.25, -3e-4]}\n",
          "    indented    spaces\tand\ttabs\n");

  private TokenizerBenchmark() {}

  /** Deterministic mixed text of about {@code bytes} UTF-8 bytes, in ~1 kB documents. */
  static List<String> corpus(int bytes, long seed) {
    Random random = new Random(seed);
    List<String> documents = new ArrayList<>();
    int total = 0;
    while (total < bytes) {
      StringBuilder doc = new StringBuilder();
      while (doc.length() < 1000) {
        doc.append(PIECES.get(random.nextInt(PIECES.size())));
        if (random.nextInt(5) == 0) {
          doc.append(random.nextInt(1_000_000)).append(' ');
        }
      }
      documents.add(doc.toString());
      total += doc.toString().getBytes(StandardCharsets.UTF_8).length;
    }
    return documents;
  }

  public static void main(String[] args) throws Exception {
    int megabytes = Integer.parseInt(args[0]);
    List<String> documents = corpus(megabytes << 20, 1);
    long bytes = documents.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum();
    for (String dir : Arrays.copyOfRange(args, 1, args.length)) {
      try (PromptEncoder encoder = PromptEncoder.load(Path.of(dir))) {
        Tokenizer tokenizer = encoder.tokenizer();
        // Warm-up: one pass over a tenth of the corpus.
        for (int i = 0; i < documents.size() / 10; i++) {
          tokenizer.encode(documents.get(i));
        }
        long tokens = 0;
        long start = System.nanoTime();
        for (String doc : documents) {
          tokens += tokenizer.encode(doc).length;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Map<String, Object>> chat =
            List.of(
                Map.of("role", "system", "content", "You are a careful assistant."),
                Map.of("role", "user", "content", "What is 127 + 389?"),
                Map.of("role", "assistant", "content", "The answer is 516."),
                Map.of("role", "user", "content", "And 516 * 2?"));
        for (int i = 0; i < 200; i++) {
          encoder.render(chat, true, Map.of());
        }
        int renders = 2000;
        long[] times = new long[renders];
        for (int i = 0; i < renders; i++) {
          long t = System.nanoTime();
          encoder.render(chat, true, Map.of());
          times[i] = System.nanoTime() - t;
        }
        Arrays.sort(times);
        System.out.printf(
            Locale.ROOT,
            "%s: encode %.2f MB/s (%.0f k tokens/s, %d MB, %d documents); chat render median %.0f µs, p90 %.0f µs%n",
            Path.of(dir).getFileName(),
            bytes / seconds / (1 << 20),
            tokens / seconds / 1000,
            bytes >> 20,
            documents.size(),
            times[renders / 2] / 1e3,
            times[renders * 9 / 10] / 1e3);
      }
    }
  }
}
