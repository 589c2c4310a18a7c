# On the GPU machine: what PyTorch's cuBLAS and cuBLASLt paths take for the products of one decode
# step (bf16 operands, 256 rows), to compare with ours kernel by kernel, and what a search over
# cuBLASLt's algorithms (PyTorch's TunableOp) gains on top of its default choice.
#
# Each product runs 96 times back-to-back in one CUDA graph (so launches cost what they cost in our
# decode graph), cycling through enough distinct weights that they do not stay in the 50 MB L2, as a
# model's 16 layers do not. Prints microseconds per product and the fraction of 3 TB/s its bytes
# make. "2x" shapes are one strided-batched product of two weights over the same input (torch.bmm,
# as k with v); "+" shapes are two weights stored as one (q with k and v, gate with up).
#   python3 scripts/device-gemm.py [rows] [libraries: cublas,cublaslt,tunable]
import os, sys, torch

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 256
libs = sys.argv[2].split(",") if len(sys.argv) > 2 else ["cublas", "cublaslt", "tunable"]
shapes = {  # name: (input width, output width[, batch])
    "q/o 2048": (2048, 2048), "k/v 512": (2048, 512), "q+k+v 3072": (2048, 3072),
    "gate/up 8192": (2048, 8192), "gate+up 16384": (2048, 16384), "down": (8192, 2048),
    "lm head 128256": (2048, 128256), "2x k/v 512": (2048, 512, 2), "2x gate/up 8192": (2048, 8192, 2),
    "0.5b q/o 896": (896, 896), "0.5b k/v 128": (896, 128), "0.5b gate/up 4864": (896, 4864),
    "0.5b gate+up 9728": (896, 9728), "0.5b down": (4864, 896), "0.5b lm head": (896, 151936),
}
REPEATS = 96
for lib in libs:
    if lib == "tunable":
        # TunableOp times cuBLASLt's candidate algorithms (and cuBLAS's default) at each shape's first
        # call and keeps the fastest; the capture below then replays that choice.
        torch.cuda.tunable.enable(True)
        torch.cuda.tunable.tuning_enable(True)
        torch.cuda.tunable.set_filename(os.path.join(os.environ.get("OUT", "/tmp"), "tunableop.csv"))
        torch.backends.cuda.preferred_blas_library("cublaslt")
    else:
        torch.cuda.tunable.enable(False)
        torch.backends.cuda.preferred_blas_library(lib)
    for name, (k, n, *batch) in shapes.items():
        batch = batch[0] if batch else 0
        weight_bytes = 2 * n * k * max(batch, 1)
        copies = max(1, min(REPEATS, -(-200_000_000 // weight_bytes)))  # ≥ 200 MB of weights, 4× L2
        x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
        if batch:
            x = x.unsqueeze(0).expand(batch, rows, k)
            ws = [torch.randn(batch, n, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        else:
            ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        for out_dtype in (torch.bfloat16, torch.float32):
            def run(w):
                if batch:
                    return torch.bmm(x, w.transpose(1, 2), out_dtype=out_dtype)
                return torch.mm(x, w.t(), out_dtype=out_dtype)  # (out_dtype: PyTorch 2.8 on)
            try:
                run(ws[0])
            except Exception as e:
                print(f"{lib} {name} out {out_dtype}: {type(e).__name__} {str(e)[:80]}")
                continue
            graph = torch.cuda.CUDAGraph()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for w in ws[:3]:
                    run(w)
                with torch.cuda.graph(graph, stream=stream):
                    for i in range(REPEATS):
                        run(ws[i % copies])
            torch.cuda.current_stream().wait_stream(stream)
            graph.replay()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(5):
                graph.replay()
            end.record()
            torch.cuda.synchronize()
            us = start.elapsed_time(end) * 1000 / (5 * REPEATS)
            traffic = max(batch, 1) * (2 * (n * k + rows * k) + (2 if out_dtype == torch.bfloat16 else 4) * rows * n)
            print(f"{lib:8s} {name:18s} out {str(out_dtype)[6:]:8s} {us:7.1f} us  {traffic / us / 1e6 / 3:5.1%} of 3 TB/s"
                  f"  ({copies} weights)", flush=True)
        del ws
        torch.cuda.empty_cache()
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())
