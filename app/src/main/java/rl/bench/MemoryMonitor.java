package rl.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.factory.Environment;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Samples memory on a daemon thread and keeps the peaks since the last {@link #reset}: JVM heap in
 * use (MemoryMXBean, garbage included), off-heap bytes of ND4J's native buffers (libnd4j's host
 * allocation counter, {@code Nd4j.getEnvironment().getDeviceCouner(0)}: ND4J allocates outside
 * JavaCPP's {@code Pointer.totalBytes()}, which stays near zero) and the process's resident set
 * ({@code Pointer.physicalBytes()}).
 */
public final class MemoryMonitor implements AutoCloseable {
  /** Peaks over a span, in bytes. */
  public record Peaks(long heap, long offHeap, long resident) {}

  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final Environment nd4j = Nd4j.getEnvironment();
  private final Thread thread;
  private volatile boolean running = true;
  private long heap;
  private long offHeap;
  private long resident;

  private MemoryMonitor(long intervalMillis) {
    thread =
        Thread.ofPlatform()
            .daemon()
            .name("rl-bench-memory")
            .start(
                () -> {
                  while (running) {
                    sample();
                    try {
                      Thread.sleep(intervalMillis);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
  }

  /** Starts sampling every {@code intervalMillis}. */
  public static MemoryMonitor start(long intervalMillis) {
    return new MemoryMonitor(intervalMillis);
  }

  /** Takes one sample now (also called by the sampling thread). */
  public synchronized void sample() {
    heap = Math.max(heap, memory.getHeapMemoryUsage().getUsed());
    offHeap = Math.max(offHeap, nd4j.getDeviceCouner(0));
    resident = Math.max(resident, Pointer.physicalBytes());
  }

  /** Forgets the peaks; the next span starts from the current use. */
  public synchronized void reset() {
    heap = 0;
    offHeap = 0;
    resident = 0;
    sample();
  }

  /** The peaks since the last reset, including a sample taken now. */
  public synchronized Peaks peaks() {
    sample();
    return new Peaks(heap, offHeap, resident);
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
  }
}
