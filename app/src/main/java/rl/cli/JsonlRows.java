package rl.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the JSONL commands ({@code rl generate}, {@code rl logprobs}, {@code rl reward}) share:
 * opening {@code --output} (or standard output) and reading token-id rows, with errors that name
 * the row ({@code FILE:LINE}), the value found and what was expected.
 */
final class JsonlRows {
  private JsonlRows() {}

  /** {@code output}, its parent directories created; standard output when it is null. */
  static Writer openOutput(Path output, PrintWriter stdout) {
    if (output == null) {
      // Standard output belongs to the caller: flush it, never close it.
      return new Writer() {
        @Override
        public void write(char[] buffer, int offset, int length) {
          stdout.write(buffer, offset, length);
        }

        @Override
        public void flush() {
          stdout.flush();
        }

        @Override
        public void close() {
          stdout.flush();
        }
      };
    }
    try {
      Path parent = output.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      return Files.newBufferedWriter(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new Main.InputException("--output " + output + ": cannot write: " + e.getMessage());
    }
  }

  /** A row's {@code "tokens"} array as ids in {@code [0, vocab)}; {@code where} is FILE:LINE. */
  static int[] tokenIds(String where, JsonNode node, int vocab) {
    if (!node.isArray()) {
      throw rowError(where, "\"tokens\" must be an array of token ids, found " + node);
    }
    int[] tokens = new int[node.size()];
    for (int t = 0; t < tokens.length; t++) {
      JsonNode id = node.get(t);
      if (!id.canConvertToInt() || !id.isIntegralNumber()) {
        throw rowError(
            where, "tokens[" + t + "] is " + id + ", expected a token id in [0, " + vocab + ")");
      }
      tokens[t] = id.intValue();
    }
    checkVocabulary(where, tokens, vocab, "");
    return tokens;
  }

  /**
   * Every id in {@code [0, vocab)}; {@code origin} says where ids came from when not given
   * directly, e.g. {@code (from "text")}.
   */
  static void checkVocabulary(String where, int[] tokens, int vocab, String origin) {
    for (int t = 0; t < tokens.length; t++) {
      if (tokens[t] < 0 || tokens[t] >= vocab) {
        throw rowError(
            where,
            "tokens["
                + t
                + "] = "
                + tokens[t]
                + origin
                + " is outside the model's vocabulary [0, "
                + vocab
                + ")");
      }
    }
  }

  static Main.InputException rowError(String where, String message) {
    return new Main.InputException(where + ": " + message);
  }
}
