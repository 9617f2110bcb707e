#!/usr/bin/env python3
"""Generates the CLIP-G-style test golden (no shared golden exists for it).

A transcription of Stability's reference CLIP text model (sd3.5 other_impls.py: CLIPAttention, CLIPLayer,
CLIPEncoder, CLIPEmbeddings, CLIPTextModel_, CLIPTextModel, SDClipModel with SDXLClipG's options) in torch,
run in float64 on random weights of a tiny CLIP-G-style configuration (width 96, 6 heads, 4 layers,
exact-erf gelu), token ids padded with 0 as SDXLClipGTokenizer pads.

Weights are rounded to float16 precision first, then written twice with identical values:
  clip_g_torch/checkpoint.safetensors  F32, SD3 single-file prefix 'text_encoders.clip_g.transformer.' (plus a
                                 distractor tensor outside the prefix)
  clip_g_torch/clip_g_f16.safetensors  F16, no prefix (standalone clip_g.safetensors layout)
and the outputs go to clip_g_torch/tokens77.safetensors.

The transcription reproduces the shared CLIP-L golden (../shared/golden/encoders/clip_l, made with the
reference itself) to 4e-15 in float64 when given its weights and the quick_gelu configuration.

Run: /usr/bin/python3 sd3-onnx/src/test/python/make_clip_g_golden.py sd3-onnx/src/test/resources/golden/encoders
(torch 1.13 and numpy; no safetensors package needed).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

CONFIG = {"hidden_act": "gelu", "hidden_size": 96, "intermediate_size": 384, "num_attention_heads": 6,
          "num_hidden_layers": 4}
VOCAB = 1000
POSITIONS = 77
PREFIX = "text_encoders.clip_g.transformer."

ACTIVATIONS = {
    "quick_gelu": lambda a: a * torch.sigmoid(1.702 * a),
    "gelu": torch.nn.functional.gelu,
}


def attention(q, k, v, heads, mask):
    b, _, dim_head = q.shape
    dim_head //= heads
    q, k, v = map(lambda t: t.view(b, -1, heads, dim_head).transpose(1, 2), (q, k, v))
    # scaled_dot_product_attention written out (torch 1.13 lacks it), as the golden harness's polyfill does.
    scores = q @ k.transpose(-2, -1) / (dim_head ** 0.5) + mask
    out = torch.softmax(scores, dim=-1) @ v
    return out.transpose(1, 2).reshape(b, -1, heads * dim_head)


def linear(x, w, p):
    return torch.nn.functional.linear(x, w[p + ".weight"], w.get(p + ".bias"))


def layer_norm(x, w, p):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w[p + ".weight"], w[p + ".bias"], 1e-5)


def clip_text_model(w, tokens, cfg, intermediate_output):
    """CLIPTextModel_.forward + CLIPTextModel's projection; returns (x, intermediate, projected, pooled, all)."""
    heads = cfg["num_attention_heads"]
    act = ACTIVATIONS[cfg["hidden_act"]]
    x = w["text_model.embeddings.token_embedding.weight"][tokens] \
        + w["text_model.embeddings.position_embedding.weight"]
    causal_mask = torch.empty(x.shape[1], x.shape[1], dtype=x.dtype).fill_(float("-inf")).triu_(1)
    hidden = [x.clone()]
    n = cfg["num_hidden_layers"]
    if intermediate_output < 0:
        intermediate_output = n + intermediate_output
    intermediate = None
    for i in range(n):
        p = "text_model.encoder.layers.%d." % i
        h = layer_norm(x, w, p + "layer_norm1")
        q, k, v = (linear(h, w, p + "self_attn.%s_proj" % s) for s in "qkv")
        x = x + linear(attention(q, k, v, heads, causal_mask), w, p + "self_attn.out_proj")
        x = x + linear(act(linear(layer_norm(x, w, p + "layer_norm2"), w, p + "mlp.fc1")), w, p + "mlp.fc2")
        hidden.append(x.clone())
        if i == intermediate_output:
            intermediate = x.clone()
    x = layer_norm(x, w, "text_model.final_layer_norm")
    pooled = x[torch.arange(x.shape[0]), tokens.to(dtype=torch.int).argmax(dim=-1)]
    projected = torch.nn.functional.linear(pooled, w["text_projection.weight"])
    return x, intermediate, projected, pooled, hidden


def random_weights(cfg, gen):
    d = cfg["hidden_size"]
    f = cfg["intermediate_size"]
    shapes = {
        "text_model.embeddings.token_embedding.weight": (VOCAB, d),
        "text_model.embeddings.position_embedding.weight": (POSITIONS, d),
        "text_model.final_layer_norm.weight": (d,),
        "text_model.final_layer_norm.bias": (d,),
        "text_projection.weight": (d, d),
    }
    for i in range(cfg["num_hidden_layers"]):
        p = "text_model.encoder.layers.%d." % i
        for s in "qkv":
            shapes[p + "self_attn.%s_proj.weight" % s] = (d, d)
            shapes[p + "self_attn.%s_proj.bias" % s] = (d,)
        shapes[p + "self_attn.out_proj.weight"] = (d, d)
        shapes[p + "self_attn.out_proj.bias"] = (d,)
        for ln in ("layer_norm1", "layer_norm2"):
            shapes[p + ln + ".weight"] = (d,)
            shapes[p + ln + ".bias"] = (d,)
        shapes[p + "mlp.fc1.weight"] = (f, d)
        shapes[p + "mlp.fc1.bias"] = (f,)
        shapes[p + "mlp.fc2.weight"] = (d, f)
        shapes[p + "mlp.fc2.bias"] = (d,)
    w = {}
    for name, shape in shapes.items():
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("layer_norm.weight"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif len(shape) == 2 and "embedding" not in name:
            t = torch.randn(shape, generator=gen, dtype=torch.float64) / shape[1] ** 0.5
        else:
            t = 0.5 * torch.randn(shape, generator=gen, dtype=torch.float64)
        # float16-representable values, so the F16 and F32 files hold the same numbers.
        w[name] = t.to(torch.float16).to(torch.float64)
    return w


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, (dtype, arr) in tensors.items():
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main(out_root):
    out = os.path.join(out_root, "clip_g_torch")
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(20261125)
    w = random_weights(CONFIG, gen)
    prompts_ids = [[998, 17, 523, 4, 997, 250, 999], [998, 42, 7, 333, 900, 12, 61, 455, 800, 2, 99, 650, 999]]
    ids = torch.tensor([p + [0] * (POSITIONS - len(p)) for p in prompts_ids], dtype=torch.int64)
    with torch.no_grad():
        x, penultimate, projected, pooled, hidden = clip_text_model(w, ids, CONFIG, -2)

    ck = {PREFIX + k: ("F32", v.numpy().astype(np.float32)) for k, v in w.items()}
    ck["model.diffusion_model.x_embedder.proj.bias"] = ("F32", np.zeros(4, dtype=np.float32))
    write_safetensors(os.path.join(out, "checkpoint.safetensors"), ck, {"model": "clip_g", "layout": "sd3"})
    write_safetensors(os.path.join(out, "clip_g_f16.safetensors"),
                      {k: ("F16", v.numpy().astype(np.float16)) for k, v in w.items()},
                      {"model": "clip_g", "layout": "standalone f16"})
    res = {"input_ids": ("I64", ids.numpy()),
           "pooled_index": ("I64", ids.to(torch.int).argmax(dim=-1).to(torch.int64).numpy()),
           "last_hidden_state_f64": ("F64", x.numpy()),
           "penultimate_f64": ("F64", penultimate.numpy()),
           "pooled_f64": ("F64", pooled.numpy()),
           "pooled_projected_f64": ("F64", projected.numpy())}
    for i, h in enumerate(hidden):
        res["hidden_states.%d_f64" % i] = ("F64", h.numpy())
    write_safetensors(os.path.join(out, "tokens77.safetensors"), res,
                      {"model": "clip_g", "case": "tokens77", "config": json.dumps(CONFIG),
                       "made_by": "sd3-onnx/src/test/python/make_clip_g_golden.py"})
    print("wrote", out, "pooled index", res["pooled_index"][1])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sd3-onnx/src/test/resources/golden/encoders")
