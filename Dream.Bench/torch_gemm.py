"""torch.matmul (cuBLAS) at the shapes `Dream.Bench gemm` times, on the same card: x [T, In] @ W[Out, In]^T in bf16.

  python3 torch_gemm.py [--lens 256,512,1024,2048] [--reps 20] [--distribution normal|uniform]
Prints the same table layout (ms per product, TFLOP/s = 2*T*In*Out / time). x ~ N(0, 1), W ~ N(0, 1) * 0.05 (normal,
the default), or x uniform on [-1, 1] and W on [-0.05, 0.05] (uniform): the same draws `Dream.Bench gemm
--distribution` makes, because on a power-limited card the values move the clock.
"""
import argparse
import torch

SHAPES = [("qkv", 3584, 4608, None), ("o", 3584, 3584, None), ("gate+up", 3584, 2 * 18944, None),
          ("down", 18944, 3584, None), ("lm_head", 3584, 152064, 256)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lens", default="256,512,1024,2048")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--distribution", choices=["normal", "uniform"], default="normal")
    a = ap.parse_args()
    lens = [int(s) for s in a.lens.split(",")]
    print(f"device: {torch.cuda.get_device_name()} (torch {torch.__version__}, cuBLAS via torch.matmul, bf16, {a.distribution} data)")
    print("| shape | T | In | Out | ms | TFLOP/s |")
    print("|---|---|---|---|---|---|")
    for length in lens:
        for name, k, n, fixed in SHAPES:
            if fixed is not None and length != lens[0]:
                continue
            t = fixed or length
            if a.distribution == "normal":
                x = torch.randn(t, k, device="cuda", dtype=torch.bfloat16)
                w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.05
            else:
                x = torch.rand(t, k, device="cuda", dtype=torch.bfloat16) * 2 - 1
                w = (torch.rand(n, k, device="cuda", dtype=torch.bfloat16) * 2 - 1) * 0.05
            for _ in range(3):
                y = x @ w.T
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(a.reps):
                y = x @ w.T
            end.record()
            torch.cuda.synchronize()
            ms = start.elapsed_time(end) / a.reps
            print(f"| {name} | {t} | {k} | {n} | {ms:.3f} | {2 * t * k * n / (ms * 1e-3) / 1e12:.1f} |")
            del x, w, y


if __name__ == "__main__":
    main()
