package rl.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.util.Optional;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;

/**
 * One CUDA device: its primary context, made current on whichever thread calls {@link #bind()}, and
 * error checking for the runtime and driver APIs.
 */
public final class Cuda {
  private final int device;
  private final CUctx_st context = new CUctx_st();
  private final int major;
  private final int minor;
  private final String name;
  private final int maxSharedOptin;
  private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);

  private Cuda(int device) {
    this.device = device;
    checkDriver(cuInit(0), "cuInit");
    int[] handle = new int[1];
    checkDriver(cuDeviceGet(handle, device), "cuDeviceGet");
    checkDriver(cuDevicePrimaryCtxRetain(context, handle[0]), "cuDevicePrimaryCtxRetain");
    bind();
    int[] value = new int[1];
    check(cudaDeviceGetAttribute(value, cudaDevAttrComputeCapabilityMajor, device), "attribute");
    major = value[0];
    check(cudaDeviceGetAttribute(value, cudaDevAttrComputeCapabilityMinor, device), "attribute");
    minor = value[0];
    check(
        cudaDeviceGetAttribute(value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
        "attribute");
    maxSharedOptin = value[0];
    org.bytedeco.cuda.cudart.cudaDeviceProp props = new org.bytedeco.cuda.cudart.cudaDeviceProp();
    check(cudaGetDeviceProperties(props, device), "cudaGetDeviceProperties");
    name = props.name().getString();
  }

  /**
   * Device 0 when a GPU and the CUDA libraries are present; otherwise empty with the reason, so a
   * caller can log why it fell back to the CPU.
   */
  public static Optional<Cuda> open(StringBuilder whyNot) {
    try {
      Loader.load(org.bytedeco.cuda.global.cudart.class);
    } catch (Throwable e) {
      // e.g. "no jnicudart in java.library.path: /usr/lib..." — the path list says nothing useful.
      String detail = String.valueOf(e.getMessage());
      int path = detail.indexOf(" in java.library.path");
      whyNot
          .append("no CUDA 13 runtime found (")
          .append(path > 0 ? detail.substring(0, path) : detail)
          .append(')');
      return Optional.empty();
    }
    int[] count = new int[1];
    int status = cudaGetDeviceCount(count);
    if (status != cudaSuccess || count[0] == 0) {
      whyNot
          .append("no CUDA device: cudaGetDeviceCount returned ")
          .append(status == cudaSuccess ? "0 devices" : errorName(status));
      return Optional.empty();
    }
    return Optional.of(new Cuda(0));
  }

  /** Makes this device's primary context current on the calling thread (once per thread). */
  public void bind() {
    if (!bound.get()) {
      checkDriver(cuCtxSetCurrent(context), "cuCtxSetCurrent");
      bound.set(true);
    }
  }

  public int device() {
    return device;
  }

  /** The compute capability's major version (9 for an H100). */
  public int major() {
    return major;
  }

  /** {@code sm_90} for an H100: the architecture NVRTC compiles for. */
  public String architecture() {
    return "sm_" + major + minor;
  }

  public String name() {
    return name;
  }

  /** The most dynamic shared memory one block may opt in to, in bytes. */
  public int maxSharedOptin() {
    return maxSharedOptin;
  }

  /** Free and total device memory in bytes. */
  public long[] memoryInfo() {
    bind();
    try (org.bytedeco.javacpp.SizeTPointer free = new org.bytedeco.javacpp.SizeTPointer(1);
        org.bytedeco.javacpp.SizeTPointer total = new org.bytedeco.javacpp.SizeTPointer(1)) {
      check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
      return new long[] {free.get(), total.get()};
    }
  }

  public void synchronize() {
    bind();
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }

  @Override
  public String toString() {
    return name + " (" + architecture() + ")";
  }

  // ---- errors ----

  static void check(int status, String what) {
    if (status != cudaSuccess) {
      throw new CudaException(what + " failed: " + errorName(status));
    }
  }

  static void checkDriver(int status, String what) {
    if (status != CUDA_SUCCESS) {
      String text = "unknown";
      try (org.bytedeco.javacpp.PointerPointer<BytePointer> message =
          new org.bytedeco.javacpp.PointerPointer<>(1)) {
        if (cuGetErrorString(status, message) == CUDA_SUCCESS && message.get(0) != null) {
          text = message.getString(0);
        }
      }
      throw new CudaException(what + " failed: CUresult " + status + " (" + text + ")");
    }
  }

  static String errorName(int status) {
    BytePointer text = cudaGetErrorString(status);
    return "cudaError " + status + " (" + (text == null ? "?" : text.getString()) + ")";
  }
}
