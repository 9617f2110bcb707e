#!/usr/bin/env python3
"""Generates the golden torch.randn values used by TorchGeneratorTest.

Provenance script: committed for reference, never run by the Maven build.

Run from the repository root with PyTorch 1.13.x on an x86-64 CPU whose ATen
CPU capability is AVX2 (not AVX512: torch only uses the vectorized
normal_fill_16_AVX2 kernel when the dispatched capability is exactly AVX2):

    python3 sd3-core/src/test/python/make_torch_randn_golden.py

The goldens in the repository were produced with Debian's python3-torch
1.13.1+dfsg-4 (torch.__version__ == "1.13.0a0") on an AMD EPYC (AVX2) host.

Outputs (in sd3-core/src/test/resources/torch/):
  randn_golden.bin  little-endian float32 values, all cases concatenated
  randn_golden.txt  index, one case per line:
      <name> <kernel> <seed> <sizes> <stride> <offset> <count>
    kernel  avx2    = torch's dispatched kernel on this host (AVX2)
            default = same torch run with ATEN_CPU_CAPABILITY=default
                      (generic scalar normal_fill, as on AVX512 / ARM hosts)
    seed    the Python int given to torch.manual_seed
    sizes   comma separated element counts of successive torch.randn calls
            on the same (freshly seeded) default generator
    stride  the calls' outputs are concatenated (total T values); the stored
            values are those at indices i with i % stride == 0, plus (when
            stride > 1) every index i >= T - 16, in increasing order
    offset  index (in floats) of the first stored value in randn_golden.bin
    count   number of stored values
"""
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "resources", "torch"))

SEEDS = [0, 1, 42, 2**32 + 5, 12345678901, -1]
SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 100, 1000]


def avx2_cases():
    cases = []
    for seed in SEEDS:
        for n in SIZES:
            cases.append((f"n{n}", seed, [(n,)], 1))
        cases.append(("latent_1x16x8x8", seed, [(1, 16, 8, 8)], 1))
    cases += [
        ("latent_4x16x16", 42, [(4, 16, 16)], 1),
        # stream continuation, including the cached Box-Muller sample of the
        # scalar path surviving a vectorized (>= 16 elements) call
        ("stream_5_20", 42, [(5,), (20,)], 1),
        ("stream_20_3", 42, [(20,), (3,)], 1),
        ("stream_3_1_1_17_2", 42, [(3,), (1,), (1,), (17,), (2,)], 1),
        ("stream_7_16_1", 7, [(7,), (16,), (1,)], 1),
        ("stream_1_x3", 123, [(1,), (1,), (1,)], 1),
        # 50 scalar calls of 15: crosses several mt19937 twists on the scalar path
        ("stream_15_x50", 7, [(15,)] * 50, 1),
        # SD3 1024x1024 latent; sampled
        ("latent_1x16x128x128", 42, [(1, 16, 128, 128)], 256),
        ("latent_1x16x128x128", 0, [(1, 16, 128, 128)], 256),
        ("n100003", 1, [(100003,)], 97),
    ]
    return cases


def default_cases():
    return [
        ("n1000", 42, [(1000,)], 1),
        ("latent_1x16x8x8", 42, [(1, 16, 8, 8)], 1),
        ("latent_1x16x128x128", 42, [(1, 16, 128, 128)], 256),
    ]


def run_case(seed, shapes, stride):
    torch.manual_seed(seed)
    outs = [torch.randn(*shape).numpy().astype("<f4").ravel() for shape in shapes]
    total = np.concatenate(outs)
    n = len(total)
    if stride == 1:
        idx = np.arange(n)
    else:
        idx = np.array(sorted(set(range(0, n, stride)) | set(range(max(0, n - 16), n))))
    return total[idx]


def capability():
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "?"


def child(kind):
    """Prints the raw values of one kernel's cases (hex float bits) to stdout."""
    cases = avx2_cases() if kind == "avx2" else default_cases()
    for name, seed, shapes, stride in cases:
        vals = run_case(seed, shapes, stride)
        print(" ".join("%08x" % v for v in vals.view("<u4")))


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    cap = capability()
    assert cap == "AVX2", "golden 'avx2' values must come from the AVX2 kernel, got " + cap
    # sanity checks of the seed reduction (seed & 0xffffffff) before relying on it
    torch.manual_seed(5)
    a = torch.randn(40)
    torch.manual_seed(2**32 + 5)
    assert torch.equal(a, torch.randn(40))

    blobs = []
    index = []
    offset = 0
    for kind, env_cap, cases in (("avx2", None, avx2_cases()), ("default", "default", default_cases())):
        env = dict(os.environ)
        env.pop("ATEN_CPU_CAPABILITY", None)
        if env_cap:
            env["ATEN_CPU_CAPABILITY"] = env_cap
        out = subprocess.run([sys.executable, __file__, "--child", kind], env=env,
                             check=True, capture_output=True, text=True).stdout.splitlines()
        assert len(out) == len(cases)
        for (name, seed, shapes, stride), line in zip(cases, out):
            vals = np.array([int(h, 16) for h in line.split()], dtype="<u4").view("<f4")
            sizes = ",".join(str(int(np.prod(s))) for s in shapes)
            index.append(f"{name} {kind} {seed} {sizes} {stride} {offset} {len(vals)}")
            blobs.append(vals)
            offset += len(vals)

    os.makedirs(OUT_DIR, exist_ok=True)
    np.concatenate(blobs).astype("<f4").tofile(os.path.join(OUT_DIR, "randn_golden.bin"))
    with open(os.path.join(OUT_DIR, "randn_golden.txt"), "w") as f:
        f.write("# torch.randn goldens, generated by sd3-core/src/test/python/make_torch_randn_golden.py\n")
        f.write(f"# torch {torch.__version__}, host CPU capability {cap}\n")
        f.write("# name kernel seed sizes stride offset count\n")
        for line in index:
            f.write(line + "\n")
    print(f"wrote {offset} floats ({offset * 4} bytes), {len(index)} cases to {OUT_DIR}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
