package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What can be checked of the kernels without a GPU or NVRTC: the source ships in the jar, and the
 * kernels CudaOps launches are {@code extern "C" __global__} functions it defines, and each of
 * those is used (a renamed or missing kernel would otherwise only fail on the device).
 */
class KernelSourceTest {
  @Test
  void everyLaunchedKernelIsDefinedAndEveryDefinedKernelIsUsed() throws Exception {
    String source = Kernels.source();
    Set<String> defined = new TreeSet<>();
    Matcher d = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(").matcher(source);
    while (d.find()) {
      defined.add(d.group(1));
    }
    String ops =
        Files.readString(
            Path.of(System.getProperty("rl.repo", "."), "cuda/src/main/java/rl/cuda/CudaOps.java"));
    // Kernel names CudaOps launches directly (a literal or a choice of literals as the first
    // argument) must be defined; every defined kernel must be named somewhere in CudaOps (launched
    // directly, or listed in a table such as the attention instantiations).
    Set<String> launched = new TreeSet<>();
    Matcher l = Pattern.compile("kernels\\.launch\\(\\s*([^,]+),").matcher(ops);
    while (l.find()) {
      Matcher literal = Pattern.compile("\"(\\w+)\"").matcher(l.group(1));
      while (literal.find()) {
        launched.add(literal.group(1));
      }
    }
    Set<String> named = new TreeSet<>();
    Matcher any = Pattern.compile("\"(\\w+)\"").matcher(ops);
    while (any.find()) {
      if (defined.contains(any.group(1))) {
        named.add(any.group(1));
      }
    }
    assertTrue(defined.size() >= 18, "kernels defined: " + defined);
    assertTrue(defined.containsAll(launched), "launched but not defined: " + launched);
    assertEquals(defined, named);
    // Balanced braces and parentheses: a cheap guard against a truncated edit.
    assertEquals(count(source, '{'), count(source, '}'));
    assertEquals(count(source, '('), count(source, ')'));
  }

  /**
   * Every kernel takes no more parameters than {@link Kernels.Args} can pass: a kernel with more
   * otherwise only fails when first launched on the device.
   */
  @Test
  void everyKernelsParametersFitTheLaunchArguments() {
    Matcher d =
        Pattern.compile("extern \"C\" __global__ void (\\w+)\\(([^)]*)\\)")
            .matcher(Kernels.source());
    int kernels = 0;
    while (d.find()) {
      kernels++;
      int parameters = d.group(2).isBlank() ? 0 : d.group(2).split(",").length;
      assertTrue(
          parameters <= Kernels.MAX_ARGS,
          d.group(1)
              + " takes "
              + parameters
              + " parameters; launches pass at most "
              + Kernels.MAX_ARGS);
    }
    assertTrue(kernels >= 18, "kernels found: " + kernels);
  }

  /**
   * The kernels through a host C++ compiler's syntax check (g++ with a shim for CUDA's qualifiers
   * and built-ins): catches type and name errors without NVRTC, which CI lacks. Skipped, with the
   * reason, where no g++ is installed ({@code .ci/run} installs it).
   */
  @Test
  void kernelsPassAHostCompilersSyntaxCheck(@TempDir Path dir) throws Exception {
    Path gxx = Path.of("/usr/bin/g++");
    assumeTrue(Files.isExecutable(gxx), "no /usr/bin/g++ to syntax-check kernels.cu with");
    Path source = dir.resolve("kernels.cu");
    Files.writeString(source, Kernels.source());
    Path shim = dir.resolve("host-syntax-shim.h");
    try (var in = KernelSourceTest.class.getResourceAsStream("host-syntax-shim.h")) {
      Files.copy(in, shim);
    }
    Process p =
        new ProcessBuilder(
                gxx.toString(),
                "-std=c++17",
                "-fsyntax-only",
                "-include",
                shim.toString(),
                "-x",
                "c++",
                source.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), "g++ -fsyntax-only kernels.cu:\n" + output);
  }

  private static long count(String s, char c) {
    return s.chars().filter(x -> x == c).count();
  }
}
