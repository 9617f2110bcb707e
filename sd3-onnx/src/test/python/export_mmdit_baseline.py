#!/usr/bin/python3
"""torch.onnx.export baseline of an SD3 MMDiT checkpoint, for the speed comparison of our own ONNX graph.

Committed for provenance; the build never runs it. Needs only PyTorch and numpy (Debian's python3-torch 1.13:
run it with /usr/bin/python3) and no network; the `onnx` and `onnxruntime` Python packages are not needed (and
not used: the export is checked from Java, see below).

What it does:
  1. Loads a single-file checkpoint with Stability's key names (``model.diffusion_model.`` prefix; SD3, SD3.5
     and MMDiT-X are all detected from the tensor shapes) into the torch transcription of Stability's reference
     MMDiT in make_mmditx_golden.py (imported, not copied: that transcription reproduces the reference to 4e-15),
     in float32.
  2. Exports it with torch.onnx.export (opset 17, constant folding) with the I/O contract of our own graph and of
     optimum's SD3 transformer export:
       hidden_states [batch, 16, height, width], timestep [batch] (float, 0..1000 as the reference takes it),
       encoder_hidden_states [batch, sequence, context_dim], pooled_projections [batch, pooled_dim]
       -> out_hidden_states [batch, 16, height, width]
     with batch, height, width and sequence dynamic. Written to <out>/model.onnx (weights inline: under 2 GB the
     exporter keeps them in the protobuf; larger models get external data files beside it).
  3. Writes <out>/check.safetensors: inputs and torch float32 outputs for two shapes, one of them different from
     the traced one (so that dynamic axes are exercised), named <case>.hidden_states, <case>.timestep,
     <case>.encoder_hidden_states, <case>.pooled_projections, <case>.out. InterleavedForwardComparison (sd3-onnx
     src/jmh) runs the exported model on them with ONNX Runtime and compares with our graph and with torch.

This is what an optimum user gets, up to the module code: diffusers' SD3Transformer2DModel differs from the
reference in naming only; on torch 2.x F.scaled_dot_product_attention exports as the same MatMul-Softmax-MatMul
that the transcription spells out, and unpatchify is the same einsum.

Usage:
  /usr/bin/python3 sd3-onnx/src/test/python/export_mmdit_baseline.py CHECKPOINT [--out DIR]
The benchmark checkpoint (depth 4, hidden 256) is written by org.sd3j.onnx.mmdit.WriteBenchCheckpoint.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_mmditx_golden as ref  # noqa: E402  (the reference transcription; importing it runs nothing)

INPUTS = ["hidden_states", "timestep", "encoder_hidden_states", "pooled_projections"]
OUTPUT = "out_hidden_states"


class Sd3Transformer(nn.Module):
    """The reference MMDiT behind the optimum I/O names."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, hidden_states, timestep, encoder_hidden_states, pooled_projections):
        return self.model(hidden_states, timestep, y=pooled_projections, context=encoder_hidden_states)


def _layer_norm_opset17(g, input, normalized_shape, weight, bias, eps, cudnn_enable):
    """torch 2.x's aten::layer_norm symbolic for opset 17, backported.

    torch 1.13's exports LayerNorm(elementwise_affine=False) -- every norm of the MMDiT -- with an empty scale
    input, which ONNX's checker rejects; torch >= 2.0 feeds constant ones / zeros
    instead, which is what this does (so the graph is the one a current torch / optimum export holds).
    """
    from torch.onnx import symbolic_helper
    normalized_shape = symbolic_helper._get_const(normalized_shape, "is", "normalized_shape")
    eps = symbolic_helper._get_const(eps, "f", "eps")
    if symbolic_helper._is_none(weight):
        weight = g.op("Constant", value_t=torch.ones(normalized_shape, dtype=torch.float32))
    if symbolic_helper._is_none(bias):
        bias = g.op("Constant", value_t=torch.zeros(normalized_shape, dtype=torch.float32))
    return g.op("LayerNormalization", input, weight, bias, epsilon_f=eps, axis_i=-len(normalized_shape))


def make_inputs(seed, batch, height, width, sequence, context_dim, pooled_dim):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 16, height, width, generator=g),
            torch.linspace(900.0, 300.0, batch) if batch > 1 else torch.tensor([700.0]),
            torch.randn(batch, sequence, context_dim, generator=g),
            torch.randn(batch, pooled_dim, generator=g))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="single-file safetensors with model.diffusion_model.* keys")
    ap.add_argument("--out", default="/tmp/sd3j-baseline", help="output folder (model.onnx, check.safetensors)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    state, _ = ref.read_safetensors(args.checkpoint)
    model = ref.build_model(state, torch.float32)
    del state
    wrapper = Sd3Transformer(model).eval()
    sd = model.state_dict()
    context_dim = sd["context_embedder.weight"].shape[1]
    pooled_dim = sd["y_embedder.mlp.0.weight"].shape[1]
    params = sum(v.numel() for v in sd.values())
    print("model: depth %d, hidden %d, heads %d, context %d, pooled %d, pos grid %d, qk_norm %s, mmdit-x %s, "
          "%d parameters" % (len(model.joint_blocks), model.x_embedder.proj.weight.shape[0], model.num_heads,
                             context_dim, pooled_dim, model.pos_embed_max_size,
                             "rms" if "joint_blocks.0.context_block.attn.ln_k.weight" in sd else "none",
                             model.x_block_self_attn_layers, params))

    os.makedirs(args.out, exist_ok=True)
    if args.opset >= 17:
        torch.onnx.register_custom_op_symbolic("aten::layer_norm", _layer_norm_opset17, args.opset)
    onnx_path = os.path.join(args.out, "model.onnx")
    # Traced at the benchmark's first shape; every dimension that varies is declared dynamic.
    trace = make_inputs(11, 2, 32, 32, 77, context_dim, pooled_dim)
    start = time.time()
    with torch.no_grad():
        torch.onnx.export(
            wrapper, trace, onnx_path,
            input_names=INPUTS, output_names=[OUTPUT],
            dynamic_axes={
                "hidden_states": {0: "batch", 2: "height", 3: "width"},
                "timestep": {0: "batch"},
                "encoder_hidden_states": {0: "batch", 1: "sequence"},
                "pooled_projections": {0: "batch"},
                OUTPUT: {0: "batch", 2: "height", 3: "width"},
            },
            opset_version=args.opset, do_constant_folding=True, export_params=True)
    print("exported %s (%d bytes) in %.1f s with torch %s, opset %d" % (
        onnx_path, os.path.getsize(onnx_path), time.time() - start, torch.__version__, args.opset))

    # Inputs and torch outputs for the Java check: the traced shape and one with other batch/size/sequence.
    cases = {"b2_32x32_l77": trace, "b1_24x40_l50": make_inputs(12, 1, 24, 40, 50, context_dim, pooled_dim)}
    check = {}
    with torch.no_grad():
        for name, inputs in cases.items():
            out = wrapper(*inputs)
            for n, t in zip(INPUTS, inputs):
                check[name + "." + n] = t.numpy().astype(np.float32)
            check[name + ".out"] = out.numpy().astype(np.float32)
            print("torch %-13s out %s absmax %.3f" % (name, tuple(out.shape), float(out.abs().max())))
    check_path = os.path.join(args.out, "check.safetensors")
    ref.write_safetensors(check_path, check, {
        "generator": "sd3j export_mmdit_baseline.py (torch %s, float32)" % torch.__version__,
        "checkpoint": os.path.abspath(args.checkpoint), "cases": ",".join(cases)})
    print("wrote %s" % check_path)


if __name__ == "__main__":
    main()
