package rl.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, run by the Rust {@code tokenizers} library through DJL's
 * JNI binding (its natives ship inside the DJL jar and are unpacked once to {@code
 * ~/.djl.ai/tokenizers/}, or to {@code $DJL_CACHE_DIR}).
 *
 * <p>Encoding adds no special tokens, never truncates and never pads; decoding keeps special
 * tokens. Instances are safe to use from several threads; {@link #close} frees the native
 * tokenizer.
 *
 * <p>DJL logs through SLF4J under {@code ai.djl}; the {@code rl} command sets that logger to {@code
 * warn} (see the app's {@code simplelogger.properties}), which keeps its start-up notes (platform
 * and CUDA detection) off the console.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
  /** The file a Hugging Face tokenizer directory holds. */
  public static final String TOKENIZER_FILE = "tokenizer.json";

  /** DJL's switch for which build of its native tokenizer library to load. */
  static final String FLAVOR_PROPERTY = "RUST_FLAVOR";

  static {
    // The tokenizers jar carries CPU builds only. On a machine with CUDA, DJL would look for a CUDA
    // build instead, find none in the jar and fail to load ("Failed to load Huggingface native
    // library"), so the CPU build is asked for unless the user chose a flavor.
    if (System.getenv(FLAVOR_PROPERTY) == null && System.getProperty(FLAVOR_PROPERTY) == null) {
      System.setProperty(FLAVOR_PROPERTY, "cpu");
    }
  }

  private final Path source;
  private final HuggingFaceTokenizer tokenizer;
  private final int vocabSize;

  /** {@code added_tokens} of tokenizer.json: content to id, and which are special. */
  private final Map<String, Integer> addedTokens;

  private final Set<Integer> specialIds;

  private HfTokenizer(Path source, HuggingFaceTokenizer tokenizer, VocabInfo vocab) {
    this.source = source;
    this.tokenizer = tokenizer;
    this.vocabSize = vocab.size;
    this.addedTokens = Map.copyOf(vocab.addedTokens);
    this.specialIds = Set.copyOf(vocab.specialIds);
  }

  /** Loads {@code modelDir/tokenizer.json}. */
  public static HfTokenizer load(Path modelDir) {
    Path file = modelDir.resolve(TOKENIZER_FILE);
    if (!Files.isRegularFile(file)) {
      throw new TokenizerException(
          file + ": no such file; a Hugging Face tokenizer directory holds " + TOKENIZER_FILE);
    }
    VocabInfo vocab = readVocab(file);
    HuggingFaceTokenizer tokenizer;
    try {
      tokenizer =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(file)
              .optAddSpecialTokens(false)
              .optTruncation(false)
              .optPadding(false)
              .build();
    } catch (IOException | RuntimeException e) {
      throw new TokenizerException(
          file + ": not a usable Hugging Face tokenizer: " + e.getMessage(), e);
    }
    return new HfTokenizer(file, tokenizer, vocab);
  }

  @Override
  public int[] encode(String text) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    int[] result = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      result[i] = Math.toIntExact(ids[i]);
    }
    return result;
  }

  /**
   * The ids of {@code text} with the special tokens the tokenizer's post-processor adds (Llama 3
   * puts {@code <|begin_of_text|>} first): Hugging Face's plain {@code tokenizer(text)}.
   */
  public int[] encodeWithSpecialTokens(String text) {
    long[] ids = tokenizer.encode(text, true, false).getIds();
    int[] result = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      result[i] = Math.toIntExact(ids[i]);
    }
    return result;
  }

  @Override
  public String decode(int[] ids) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longs[i] = ids[i];
    }
    return tokenizer.decode(longs, false);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public Path source() {
    return source;
  }

  @Override
  public OptionalInt tokenId(String token) {
    Integer added = addedTokens.get(token);
    if (added != null) {
      return OptionalInt.of(added);
    }
    int[] ids = encode(token);
    return ids.length == 1 ? OptionalInt.of(ids[0]) : OptionalInt.empty();
  }

  @Override
  public boolean isSpecial(int id) {
    return specialIds.contains(id);
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  @Override
  public String toString() {
    return "HfTokenizer[" + source + ", vocab " + vocabSize + "]";
  }

  /**
   * One more than the largest id in {@code model.vocab} (an object of token to id, or Unigram's
   * list of {@code [piece, score]}) and {@code added_tokens}. Streams the file, which also checks
   * that it is well-formed JSON before the native library sees it.
   */
  /** What the streaming pass over tokenizer.json learns. */
  private static final class VocabInfo {
    int size;
    final Map<String, Integer> addedTokens = new HashMap<>();
    final Set<Integer> specialIds = new HashSet<>();
  }

  private static VocabInfo readVocab(Path file) {
    VocabInfo info = new VocabInfo();
    long maxId = -1;
    boolean sawVocab = false;
    try (JsonParser parser = new JsonFactory().createParser(file.toFile())) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new TokenizerException(file + ": expected a JSON object at the top level");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if (field.equals("model") && value == JsonToken.START_OBJECT) {
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String modelField = parser.currentName();
            JsonToken modelValue = parser.nextToken();
            if (modelField.equals("vocab") && modelValue == JsonToken.START_OBJECT) {
              sawVocab = true;
              while (parser.nextToken() == JsonToken.FIELD_NAME) {
                parser.nextToken();
                if (parser.currentToken().isNumeric()) {
                  maxId = Math.max(maxId, parser.getLongValue());
                } else {
                  parser.skipChildren();
                }
              }
            } else if (modelField.equals("vocab") && modelValue == JsonToken.START_ARRAY) {
              sawVocab = true;
              long count = 0;
              while (parser.nextToken() != JsonToken.END_ARRAY) {
                parser.skipChildren();
                count++;
              }
              maxId = Math.max(maxId, count - 1);
            } else {
              parser.skipChildren();
            }
          }
        } else if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
          while (parser.nextToken() != JsonToken.END_ARRAY) {
            if (parser.currentToken() != JsonToken.START_OBJECT) {
              parser.skipChildren();
              continue;
            }
            long id = -1;
            String content = null;
            boolean special = false;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
              String tokenField = parser.currentName();
              parser.nextToken();
              if (tokenField.equals("id") && parser.currentToken().isNumeric()) {
                id = parser.getLongValue();
                maxId = Math.max(maxId, id);
              } else if (tokenField.equals("content")
                  && parser.currentToken() == JsonToken.VALUE_STRING) {
                content = parser.getText();
              } else if (tokenField.equals("special")) {
                special = parser.currentToken() == JsonToken.VALUE_TRUE;
              } else {
                parser.skipChildren();
              }
            }
            if (id >= 0 && id < Integer.MAX_VALUE && content != null) {
              info.addedTokens.put(content, (int) id);
              if (special) {
                info.specialIds.add((int) id);
              }
            }
          }
        } else {
          parser.skipChildren();
        }
      }
      if (parser.currentToken() != JsonToken.END_OBJECT) {
        throw new TokenizerException(
            file + ": malformed JSON: unexpected " + parser.currentToken());
      }
      if (parser.nextToken() != null) {
        throw new TokenizerException(
            file + ": malformed JSON: content after the top-level object" + at(parser));
      }
    } catch (JsonProcessingException e) {
      throw new TokenizerException(
          file + ": malformed JSON" + at(e.getLocation()) + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (!sawVocab || maxId < 0) {
      throw new TokenizerException(file + ": no model.vocab; not a Hugging Face tokenizer.json");
    }
    if (maxId >= Integer.MAX_VALUE) {
      throw new TokenizerException(file + ": token id " + maxId + " is too large");
    }
    info.size = (int) maxId + 1;
    return info;
  }

  private static String at(JsonParser parser) {
    return at(parser.currentLocation());
  }

  private static String at(JsonLocation location) {
    return location == null
        ? ""
        : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }
}
