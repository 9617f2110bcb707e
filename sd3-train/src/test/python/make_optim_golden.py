#!/usr/bin/env python3
"""Writes src/test/resources/torch/optim_golden.safetensors: expected values for sd3-train's optimizer tests.

Run from the sd3-train folder with PyTorch (checked with Debian's python3-torch 1.13.1, CPU):

    python3 src/test/python/make_optim_golden.py

The tests only read the file; they never run Python. Needs torch and numpy only (the safetensors file is written by
hand below, so the `safetensors` package is not required).

Contents (all float32 unless noted; names are '/'-separated):
  adamw/<case>/lr                    float64 [steps]: learning rate used at each step
  adamw/<case>/hparams               float64 [4]: beta1, beta2, eps, weight_decay
  adamw/<case>/param0/<p>            parameters before the first step
  adamw/<case>/grad/<step>/<p>       gradient given at step (0-based)
  adamw/<case>/param/<step>/<p>      parameters after step
  adamw/<case>/exp_avg/<p>           torch's exp_avg after the last step
  adamw/<case>/exp_avg_sq/<p>        torch's exp_avg_sq after the last step
  clip/<case>/max_norm               float64 [1]
  clip/<case>/norm                   float64 [1]: what clip_grad_norm_ returned
  clip/<case>/before/<p>, after/<p>  gradients before and after clip_grad_norm_
  init/<case>/<i>                    torch.manual_seed(seed), then for each shape [r, in] in order: torch.empty(shape)
                                     then nn.init.normal_(std=1/r) (gaussian cases) or
                                     nn.init.kaiming_uniform_(a=sqrt(5)) (kaiming cases)
"""
import json
import math
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "torch", "optim_golden.safetensors")

tensors = {}


def put(name, t, dtype=np.float32):
    # Always a copy: torch tensors' numpy views would follow later in-place updates.
    tensors[name] = np.array(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=dtype, copy=True)


def adamw_case(case, shapes, lrs, beta1, beta2, eps, wd, seed):
    torch.manual_seed(seed)
    params = {n: torch.nn.Parameter(torch.randn(s)) for n, s in shapes.items()}
    opt = torch.optim.AdamW(list(params.values()), lr=lrs[0], betas=(beta1, beta2), eps=eps, weight_decay=wd)
    put(f"adamw/{case}/lr", np.array(lrs), np.float64)
    put(f"adamw/{case}/hparams", np.array([beta1, beta2, eps, wd]), np.float64)
    for n, p in params.items():
        put(f"adamw/{case}/param0/{n}", p)
    for step, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        for i, (n, p) in enumerate(params.items()):
            # Mixed magnitudes, so that eps matters for some elements and not for others.
            scale = [1.0, 1e-3, 30.0][i % 3]
            p.grad = torch.randn(p.shape) * scale
            put(f"adamw/{case}/grad/{step}/{n}", p.grad)
        opt.step()
        for n, p in params.items():
            put(f"adamw/{case}/param/{step}/{n}", p)
    for n, p in params.items():
        st = opt.state[p]
        put(f"adamw/{case}/exp_avg/{n}", st["exp_avg"])
        put(f"adamw/{case}/exp_avg_sq/{n}", st["exp_avg_sq"])


def clip_case(case, scale, max_norm, seed):
    torch.manual_seed(seed)
    shapes = {"w": (4, 6), "b": (6,), "x": (3, 2, 2)}
    params = {n: torch.nn.Parameter(torch.zeros(s)) for n, s in shapes.items()}
    for n, p in params.items():
        p.grad = torch.randn(p.shape) * scale
        put(f"clip/{case}/before/{n}", p.grad)
    norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=max_norm)
    put(f"clip/{case}/max_norm", np.array([max_norm]), np.float64)
    put(f"clip/{case}/norm", np.array([float(norm)]), np.float64)
    for n, p in params.items():
        put(f"clip/{case}/after/{n}", p.grad)


def init_case(case, kind, shapes, seed):
    torch.manual_seed(seed)
    for i, s in enumerate(shapes):
        a = torch.empty(s)
        if kind == "gaussian":
            torch.nn.init.normal_(a, std=1 / s[0])
        else:
            torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        put(f"init/{case}/{i}", a)


def write_safetensors(path, entries, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(entries):
        arr = entries[name]
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}[arr.dtype]
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


shapes = {"blocks.0.lora_A.weight": (4, 6), "blocks.0.lora_B.weight": (5, 4), "bias": (7,)}
adamw_case("custom", shapes, [1e-3, 1e-3, 5e-4, 2e-3, 1e-3, 1e-4], 0.9, 0.999, 1e-8, 1e-2, seed=1)
adamw_case("defaults", shapes, [1e-4] * 4, 0.9, 0.999, 1e-8, 1e-4, seed=2)
adamw_case("betas", shapes, [3e-3] * 5, 0.8, 0.95, 1e-6, 0.1, seed=3)
clip_case("clipped", 1.0, 1.0, seed=4)
clip_case("unclipped", 0.05, 1.0, seed=5)
clip_case("max2", 3.0, 2.0, seed=6)
init_case("gaussian_r4", "gaussian", [(4, 32), (4, 20)], seed=42)
init_case("gaussian_r3", "gaussian", [(3, 40), (3, 24)], seed=7)
init_case("kaiming_r4", "kaiming", [(4, 32), (4, 20)], seed=42)
init_case("kaiming_r2", "kaiming", [(2, 40), (2, 17)], seed=-3)
write_safetensors(OUT, tensors, {"generator": "src/test/python/make_optim_golden.py",
                                 "torch": torch.__version__})
print(f"wrote {len(tensors)} tensors to {os.path.normpath(OUT)}")
