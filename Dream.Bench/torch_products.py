"""The matrix products alone of a Dream 7B forward, through cuBLAS (torch.matmul), on the same card: a floor for any
forward whose products run at cuBLAS's speed. Each of the 28 layers has its own weights (so nothing stays in L2 from
one layer to the next): QKV with its bias, O, gate+up, down, then lm_head over every row — the products
`torch_baseline.py bench` runs, without attention, norms, RoPE, SwiGLU or the residual adds. One forward's products
are recorded in a CUDA graph and replayed.

  python3 torch_products.py [--lens 320,512,2048] [--reps 20]
"""
import argparse
import torch

HIDDEN, QKV, FFN, VOCAB, LAYERS = 3584, 3584 + 2 * 512, 18944, 152064, 28


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lens", default="320,512,2048")
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    dev, dt = "cuda", torch.bfloat16
    g = torch.Generator(device=dev).manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, device=dev, dtype=dt, generator=g) * 0.05

    layers = [dict(qkv=r(QKV, HIDDEN), qkv_bias=r(QKV), o=r(HIDDEN, HIDDEN), gate_up=r(2 * FFN, HIDDEN), down=r(HIDDEN, FFN))
              for _ in range(LAYERS)]
    lm_head = r(VOCAB, HIDDEN)
    print(f"device: {torch.cuda.get_device_name()} (torch {torch.__version__}, cuBLAS via torch.matmul, bf16)")
    print("| tokens | products of one forward, ms (graph) | of which lm_head, ms | TFLOP/s |")
    print("|---:|---:|---:|---:|")
    for t in [int(s) for s in a.lens.split(",")]:
        x = torch.randn(t, HIDDEN, device=dev, dtype=dt, generator=g)
        act = torch.randn(t, FFN, device=dev, dtype=dt, generator=g)
        qkv = torch.empty(t, QKV, device=dev, dtype=dt)
        o = torch.empty(t, HIDDEN, device=dev, dtype=dt)
        gate_up = torch.empty(t, 2 * FFN, device=dev, dtype=dt)
        down = torch.empty(t, HIDDEN, device=dev, dtype=dt)
        logits = torch.empty(t, VOCAB, device=dev, dtype=dt)

        def products(with_layers=True):
            if with_layers:
                for w in layers:
                    torch.addmm(w["qkv_bias"], x, w["qkv"].t(), out=qkv)
                    torch.mm(x, w["o"].t(), out=o)
                    torch.mm(x, w["gate_up"].t(), out=gate_up)
                    torch.mm(act, w["down"].t(), out=down)
            torch.mm(x, lm_head.t(), out=logits)

        times = []
        for with_layers in (True, False):
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    products(with_layers)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                products(with_layers)
            for _ in range(3):
                graph.replay()
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(a.reps):
                graph.replay()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / a.reps)
        flops = 2 * t * HIDDEN * (LAYERS * (QKV + HIDDEN + 2 * FFN + FFN) + VOCAB)
        print(f"| {t} | {times[0]:.2f} | {times[1]:.2f} | {flops / (times[0] * 1e-3) / 1e12:.0f} |", flush=True)
        del x, act, qkv, o, gate_up, down, logits


if __name__ == "__main__":
    main()
