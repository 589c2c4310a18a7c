package rl.cuda;

/** A CUDA, cuBLAS or NVRTC call failed; the message names the call and the error. */
public final class CudaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CudaException(String message) {
    super(message);
  }
}
