package rl.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The tensors of a model or adapter, in one safetensors file or in shards listed by a Hugging Face
 * {@code model.safetensors.index.json}. Every shard is opened (memory-mapped, headers validated)
 * when the store is opened, so a broken index or shard is reported up front; mapping costs address
 * space, not memory.
 */
public final class SafetensorsStore implements AutoCloseable {
  public static final String INDEX_FILE = "model.safetensors.index.json";
  public static final String SINGLE_FILE = "model.safetensors";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** What error messages name: the index, or the single file. */
  private final Path source;

  /** Tensor name to the open file holding it, in index (or header) order. */
  private final Map<String, SafetensorsFile> fileOf;

  private final List<SafetensorsFile> files;

  private SafetensorsStore(
      Path source, Map<String, SafetensorsFile> fileOf, List<SafetensorsFile> files) {
    this.source = source;
    this.fileOf = Collections.unmodifiableMap(fileOf);
    this.files = List.copyOf(files);
  }

  /**
   * Opens the weights in {@code dir}: the shards of {@code model.safetensors.index.json} if it
   * exists, else {@code model.safetensors}, else the directory's only {@code *.safetensors} file
   * (which covers {@code adapter_model.safetensors}).
   */
  public static SafetensorsStore openDirectory(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new SafetensorsException(
          dir + ": expected a directory of safetensors weights, found " + describe(dir));
    }
    Path index = dir.resolve(INDEX_FILE);
    if (Files.exists(index)) {
      return openIndex(dir, index);
    }
    Path single = dir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      return openFile(single);
    }
    List<Path> candidates;
    try (Stream<Path> listing = Files.list(dir)) {
      candidates =
          listing
              .filter(p -> p.getFileName().toString().endsWith(".safetensors"))
              .filter(Files::isRegularFile)
              .sorted()
              .toList();
    } catch (IOException e) {
      throw new SafetensorsException(dir + ": cannot list directory: " + e, e);
    }
    if (candidates.size() == 1) {
      return openFile(candidates.getFirst());
    }
    String found =
        candidates.isEmpty()
            ? "no *.safetensors file"
            : candidates.size()
                + " *.safetensors files ("
                + String.join(
                    ", ", candidates.stream().map(p -> p.getFileName().toString()).toList())
                + ") and no index";
    throw new SafetensorsException(
        dir
            + ": expected "
            + INDEX_FILE
            + ", "
            + SINGLE_FILE
            + " or exactly one *.safetensors file, found "
            + found);
  }

  /** Opens a single safetensors file. */
  public static SafetensorsStore openFile(Path file) {
    SafetensorsFile opened = SafetensorsFile.open(file);
    Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
    for (String name : opened.names()) {
      fileOf.put(name, opened);
    }
    return new SafetensorsStore(file, fileOf, List.of(opened));
  }

  private static SafetensorsStore openIndex(Path dir, Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(index.toFile());
    } catch (IOException e) {
      throw new SafetensorsException(index + ": cannot read shard index: " + e.getMessage(), e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new SafetensorsException(
          index
              + ": expected an object 'weight_map' of tensor name to shard file, found "
              + (weightMap == null ? "none" : weightMap.toString()));
    }
    // Group tensor names by shard, keeping the index's order.
    Map<String, Path> shardOf = new LinkedHashMap<>();
    Map<Path, List<String>> namesByShard = new LinkedHashMap<>();
    Path rootDir = dir.toAbsolutePath().normalize();
    for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
      String name = entry.getKey();
      JsonNode value = entry.getValue();
      if (!value.isTextual()) {
        throw new SafetensorsException(
            index + ": weight_map['" + name + "'] must be a shard file name, found " + value);
      }
      Path shard = dir.resolve(value.asText()).normalize();
      if (!shard.toAbsolutePath().normalize().startsWith(rootDir)) {
        throw new SafetensorsException(
            index
                + ": weight_map['"
                + name
                + "'] = '"
                + value.asText()
                + "' points outside "
                + dir);
      }
      if (!Files.isRegularFile(shard)) {
        throw new SafetensorsException(
            index
                + ": tensor '"
                + name
                + "' is mapped to shard "
                + shard
                + ", which does not exist (found "
                + describe(shard)
                + ")");
      }
      shardOf.put(name, shard);
      namesByShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(name);
    }
    List<SafetensorsFile> opened = new ArrayList<>();
    try {
      Map<Path, SafetensorsFile> byPath = new LinkedHashMap<>();
      for (Map.Entry<Path, List<String>> shard : namesByShard.entrySet()) {
        SafetensorsFile file = SafetensorsFile.open(shard.getKey());
        opened.add(file);
        byPath.put(shard.getKey(), file);
        for (String name : shard.getValue()) {
          if (!file.contains(name)) {
            throw new SafetensorsException(
                index
                    + ": maps tensor '"
                    + name
                    + "' to "
                    + shard.getKey()
                    + ", but that shard has no such tensor."
                    + Names.closeNamesHint(name, file.names()));
          }
        }
      }
      Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
      shardOf.forEach((name, shard) -> fileOf.put(name, byPath.get(shard)));
      return new SafetensorsStore(index, fileOf, opened);
    } catch (RuntimeException e) {
      opened.forEach(SafetensorsFile::close);
      throw e;
    }
  }

  private static String describe(Path path) {
    if (Files.isDirectory(path)) {
      return "a directory";
    }
    if (Files.exists(path)) {
      return "a file";
    }
    return "nothing there";
  }

  /** The index file, or the single safetensors file, this store was opened from. */
  public Path source() {
    return source;
  }

  /** Every tensor name, in index (or header) order. */
  public Set<String> names() {
    return fileOf.keySet();
  }

  public boolean contains(String name) {
    return fileOf.containsKey(name);
  }

  public TensorInfo info(String name) {
    return file(name).info(name);
  }

  /** The file (shard) that holds tensor {@code name}. */
  public Path fileOf(String name) {
    return file(name).path();
  }

  /** Tensor {@code name} converted to float32; see {@link SafetensorsFile#readFloats}. */
  public float[] readFloats(String name) {
    return file(name).readFloats(name);
  }

  /**
   * Tensor {@code name} converted to float32, after checking that its shape is {@code
   * expectedShape}: the check that catches a checkpoint of another size early, naming the tensor.
   */
  public float[] readFloats(String name, long... expectedShape) {
    SafetensorsFile file = file(name);
    long[] shape = file.info(name).shape();
    if (!Arrays.equals(shape, expectedShape)) {
      throw new SafetensorsException(
          file.path()
              + ": tensor '"
              + name
              + "' has shape "
              + Arrays.toString(shape)
              + ", expected "
              + Arrays.toString(expectedShape));
    }
    return file.readFloats(name);
  }

  /** Tensor {@code name}'s raw bytes; see {@link SafetensorsFile#rawBytes}. */
  public MemorySegment rawBytes(String name) {
    return file(name).rawBytes(name);
  }

  private SafetensorsFile file(String name) {
    SafetensorsFile file = fileOf.get(name);
    if (file == null) {
      throw new SafetensorsException(
          source + ": no tensor '" + name + "'." + Names.closeNamesHint(name, fileOf.keySet()));
    }
    return file;
  }

  /** Unmaps every file. */
  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }

  @Override
  public String toString() {
    return "SafetensorsStore[" + source + ", " + fileOf.size() + " tensors]";
  }
}
