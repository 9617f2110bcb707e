#!/usr/bin/python3
"""PyTorch baseline for sd3-train's training-step benchmarks (FullStepBenchmark, src/jmh).

Committed for provenance; the build never runs it. Run with Debian's python3-torch (1.13):
  /usr/bin/python3 sd3-train/src/test/python/bench_training_step.py [--threads 2] [--steps 30]

Same shapes as FullStepBenchmark: the reference MMDiT transcription (sd3-onnx/src/test/python/make_mmditx_golden.py)
at depth 4 (hidden 256, 4 heads), position grid 32, pooled 128, context 77 x 256, batch 2, latent 16 x 32 x 32,
float32, random weights; one step = rectified-flow velocity loss, backward of every parameter, global-norm
clipping at 1.0 and torch.optim.AdamW (SPEC defaults). Prints the median and the spread of the step times.
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "sd3-onnx",
                                "src", "test", "python"))
import make_mmditx_golden as ref  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ref.MMDiTX(input_size=None, pos_embed_max_size=32, patch_size=2, in_channels=16, depth=4,
                       num_patches=32 * 32, adm_in_channels=128,
                       context_embedder_config={"target": "torch.nn.Linear",
                                                "params": {"in_features": 256, "out_features": 256}},
                       qk_norm=None, x_block_self_attn_layers=[], dtype=torch.float32)
    for prm in model.parameters():
        torch.nn.init.normal_(prm, std=0.02)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
    x0 = torch.randn(2, 16, 32, 32)
    noise = torch.randn(2, 16, 32, 32)
    sigma = torch.tensor([0.3, 0.7])
    context = torch.randn(2, 77, 256)
    pooled = torch.randn(2, 128)
    times = []
    for i in range(a.steps + 5):
        start = time.perf_counter()
        s = sigma.view(-1, 1, 1, 1)
        xt = (1 - s) * x0 + s * noise
        v = model(xt, sigma * 1000, y=pooled, context=context)
        loss = ((v - (noise - x0)) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= 5:
            times.append((time.perf_counter() - start) * 1000)
    print(f"torch {torch.__version__}, {a.threads} threads: full-parameter step median {statistics.median(times):.1f} ms,"
          f" min {min(times):.1f} ms over {len(times)} steps")


if __name__ == "__main__":
    main()
