package rl.cuda;

import static org.bytedeco.cuda.global.cudart.*;
import static org.bytedeco.cuda.global.nvrtc.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The CUDA C kernels of {@code kernels.cu}, compiled by NVRTC for the device's architecture on
 * first use and cached on disk as a cubin (key: SHA-256 of source, architecture, options and NVRTC
 * version), then loaded as one module. {@link #launch} passes arguments through one reusable host
 * buffer, so it is not thread-safe; {@link CudaOps} serialises its calls.
 */
final class Kernels {
  static final String SOURCE = "kernels.cu";
  static final int MAX_ARGS = 32;

  private final Cuda cuda;
  private final CUmod_st module = new CUmod_st();
  private final Map<String, CUfunc_st> functions = new HashMap<>();
  private final Map<String, Integer> sharedLimit = new HashMap<>();
  private final LongPointer argValues = new LongPointer(MAX_ARGS);
  private final long[] argBits = new long[MAX_ARGS];
  private CUstream_st stream;
  private StepGraphs graphs;
  private final PointerPointer<?> argPointers = new PointerPointer<>(MAX_ARGS);
  private final String compileLog;

  Kernels(Cuda cuda, Path cacheDir) {
    this.cuda = cuda;
    cuda.bind();
    String source = source();
    String[] options = {"--gpu-architecture=" + cuda.architecture(), "-std=c++17"};
    int[] major = new int[1];
    int[] minor = new int[1];
    nvrtcVersion(major, minor);
    String key =
        sha256(source + "\n" + String.join(" ", options) + "\nnvrtc " + major[0] + "." + minor[0]);
    Path cached = cacheDir.resolve("kernels-" + cuda.architecture() + "-" + key + ".cubin");
    byte[] cubin;
    String log = "loaded from cache " + cached;
    if (Files.isRegularFile(cached)) {
      try {
        cubin = Files.readAllBytes(cached);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the kernel cache " + cached, e);
      }
    } else {
      StringBuilder compileOutput = new StringBuilder();
      cubin = compile(source, options, compileOutput);
      log = "compiled by NVRTC " + major[0] + "." + minor[0] + ": " + compileOutput;
      store(cached, cubin);
    }
    compileLog = log;
    try (BytePointer image = new BytePointer(cubin)) {
      Cuda.checkDriver(cuModuleLoadData(module, image), "cuModuleLoadData(" + SOURCE + ")");
    }
    for (int i = 0; i < MAX_ARGS; i++) {
      argPointers.put(i, CudaTensor.at(argValues.address() + 8L * i));
    }
  }

  /** Launches go to {@code stream}, through {@code graphs} (capture and replay). */
  void use(CUstream_st stream, StepGraphs graphs) {
    this.stream = stream;
    this.graphs = graphs;
  }

  /** What happened when the module was made: compiled (with NVRTC's log) or read from cache. */
  String log() {
    return compileLog;
  }

  /** The default cache: {@code $RL_CUDA_CACHE}, else {@code ~/.cache/rl/cuda}. */
  static Path defaultCacheDir() {
    String env = System.getenv("RL_CUDA_CACHE");
    return env != null && !env.isEmpty()
        ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "rl", "cuda");
  }

  static String source() {
    try (InputStream in = Kernels.class.getResourceAsStream(SOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource rl/cuda/" + SOURCE + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] compile(String source, String[] options, StringBuilder logOut) {
    _nvrtcProgram program = new _nvrtcProgram();
    checkNvrtc(
        nvrtcCreateProgram(
            program,
            new BytePointer(source),
            new BytePointer(SOURCE),
            0,
            (PointerPointer) null,
            (PointerPointer) null),
        "nvrtcCreateProgram");
    try {
      PointerPointer<BytePointer> opts = new PointerPointer<>(options);
      int status = nvrtcCompileProgram(program, options.length, opts);
      String log = programLog(program);
      if (status != NVRTC_SUCCESS) {
        throw new CudaException(
            "NVRTC could not compile "
                + SOURCE
                + " ("
                + String.join(" ", options)
                + "): "
                + nvrtcGetErrorString(status).getString()
                + "\n"
                + log);
      }
      logOut.append(log.isBlank() ? "no warnings" : log.strip());
      try (SizeTPointer size = new SizeTPointer(1)) {
        checkNvrtc(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
        byte[] cubin = new byte[(int) size.get()];
        checkNvrtc(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN");
        return cubin;
      }
    } finally {
      nvrtcDestroyProgram(program);
    }
  }

  private static String programLog(_nvrtcProgram program) {
    try (SizeTPointer size = new SizeTPointer(1)) {
      checkNvrtc(nvrtcGetProgramLogSize(program, size), "nvrtcGetProgramLogSize");
      byte[] log = new byte[(int) size.get()];
      checkNvrtc(nvrtcGetProgramLog(program, log), "nvrtcGetProgramLog");
      int end = log.length;
      while (end > 0 && log[end - 1] == 0) {
        end--;
      }
      return new String(log, 0, end, StandardCharsets.UTF_8);
    }
  }

  private static void checkNvrtc(int status, String what) {
    if (status != NVRTC_SUCCESS) {
      throw new CudaException(what + " failed: " + nvrtcGetErrorString(status).getString());
    }
  }

  /** Writes the cubin under a temporary name, then renames it: readers never see half a file. */
  private static void store(Path target, byte[] cubin) {
    try {
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempFile(target.getParent(), "kernels", ".tmp");
      Files.write(tmp, cubin);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      // A cache that cannot be written costs a recompile next time, nothing more.
      System.err.println("rl: could not cache CUDA kernels in " + target + ": " + e.getMessage());
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)))
          .substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private CUfunc_st function(String name) {
    return functions.computeIfAbsent(
        name,
        n -> {
          CUfunc_st f = new CUfunc_st();
          Cuda.checkDriver(cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + n + ")");
          return f;
        });
  }

  // ---- launching ----

  /** Arguments of one launch, in the kernel's parameter order. */
  final class Args {
    private int count;

    Args ptr(CudaTensor t) {
      return raw(t.address());
    }

    Args ptr(long deviceAddress) {
      return raw(deviceAddress);
    }

    Args i32(int value) {
      return raw(value & 0xffffffffL);
    }

    Args i64(long value) {
      return raw(value);
    }

    Args f32(float value) {
      return raw(Float.floatToRawIntBits(value) & 0xffffffffL);
    }

    Args f64(double value) {
      return raw(Double.doubleToRawLongBits(value));
    }

    private Args raw(long bits) {
      if (count == MAX_ARGS) {
        throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
      }
      argBits[count++] = bits;
      return this;
    }
  }

  Args args() {
    return new Args();
  }

  /** Launches {@code name} on the ops' stream (or records or replays it) and checks the launch. */
  void launch(String name, int gridX, int gridY, int gridZ, int block, int sharedBytes, Args args) {
    cuda.bind();
    CUfunc_st f = function(name);
    if (graphs != null && graphs.mode() != StepGraphs.Mode.EAGER) {
      long[] signature = new long[6 + args.count];
      signature[0] = f.address();
      signature[1] = gridX;
      signature[2] = gridY;
      signature[3] = gridZ;
      signature[4] = block;
      signature[5] = sharedBytes;
      System.arraycopy(argBits, 0, signature, 6, args.count);
      if (!graphs.admit(signature)) {
        return;
      }
    }
    argValues.put(argBits, 0, args.count);
    if (sharedBytes > 48 * 1024) {
      Integer current = sharedLimit.get(name);
      if (current == null || current < sharedBytes) {
        if (sharedBytes > cuda.maxSharedOptin()) {
          throw new IllegalArgumentException(
              name
                  + " needs "
                  + sharedBytes
                  + " bytes of shared memory; this GPU allows "
                  + cuda.maxSharedOptin()
                  + " per block");
        }
        Cuda.checkDriver(
            cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes),
            "cuFuncSetAttribute(" + name + ")");
        sharedLimit.put(name, sharedBytes);
      }
    }
    Cuda.checkDriver(
        cuLaunchKernel(
            f,
            gridX,
            gridY,
            gridZ,
            block,
            1,
            1,
            sharedBytes,
            stream,
            argPointers,
            (PointerPointer) null),
        "cuLaunchKernel(" + name + ")");
  }

  /** A grid for a grid-stride loop over {@code n} elements. */
  static int gridFor(long n, int block) {
    return (int) Math.max(1, Math.min((n + block - 1) / block, 65_535));
  }
}
