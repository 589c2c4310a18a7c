# On the GPU machine: what PyTorch's cuBLAS and cuBLASLt paths take for the products of one decode
# step (bf16 operands, 256 rows), to compare with ours kernel by kernel. Times each product
# back-to-back, 100 times in one CUDA graph (so launches cost what they cost in our decode graph),
# and prints microseconds per product and the fraction of 3 TB/s its bytes make. "2x" shapes are
# one strided-batched product of two weights over the same input (torch.bmm, as k with v).
import sys, torch

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 256
shapes = {  # name: (input width, output width[, batch])
    "q/o 2048": (2048, 2048), "k/v 512": (2048, 512), "qkv 3072": (2048, 3072),
    "gate/up 8192": (2048, 8192), "gate+up 16384": (2048, 16384), "down": (8192, 2048),
    "lm head 128256": (2048, 128256), "2x k/v 512": (2048, 512, 2), "2x gate/up 8192": (2048, 8192, 2),
    "0.5b q/o 896": (896, 896), "0.5b k/v 128": (896, 128), "0.5b gate/up 4864": (896, 4864),
    "0.5b down": (4864, 896), "0.5b lm head": (896, 151936), "0.5b 2x gate/up": (896, 4864, 2),
}
for lib in ("cublas", "cublaslt"):
    torch.backends.cuda.preferred_blas_library(lib)
    for name, (k, n, *batch) in shapes.items():
        batch = batch[0] if batch else 0
        x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        if batch:
            x = x.unsqueeze(0).expand(batch, rows, k)
            w = torch.randn(batch, n, k, device="cuda", dtype=torch.bfloat16)
        for out_dtype in (torch.bfloat16, torch.float32):
            def run():
                if batch:
                    return torch.bmm(x, w.transpose(1, 2), out_dtype=out_dtype)
                return torch.mm(x, w.t(), out_dtype=out_dtype)  # (out_dtype: PyTorch 2.8 on)
            try:
                run()
            except Exception as e:
                print(f"{lib} {name} out {out_dtype}: {type(e).__name__} {str(e)[:80]}")
                continue
            graph = torch.cuda.CUDAGraph()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    run()
                with torch.cuda.graph(graph, stream=stream):
                    for _ in range(100):
                        run()
            torch.cuda.current_stream().wait_stream(stream)
            graph.replay()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(5):
                graph.replay()
            end.record()
            torch.cuda.synchronize()
            us = start.elapsed_time(end) * 1000 / 500
            traffic = max(batch, 1) * (2 * (n * k + rows * k) + (2 if out_dtype == torch.bfloat16 else 4) * rows * n)
            print(f"{lib:8s} {name:16s} out {str(out_dtype)[6:]:8s} {us:7.1f} us  {traffic / us / 1e6 / 3:5.1%} of 3 TB/s")
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())
