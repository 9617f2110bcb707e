#!/usr/bin/python3
"""Golden data for MMDiT-X (SD3.5 Medium's extra image self-attention) and skip-layer guidance.

Committed for provenance; the build never runs it. Needs only PyTorch and numpy (Debian's python3-torch
1.13.1 was used: run it with /usr/bin/python3) and no network.

What it does:
  1. Re-implements the forward pass of Stability AI's reference MMDiT (``mmditx.py`` of github.com/Stability-AI/sd3.5:
     MMDiTX, JointBlock, DismantledBlock with x_block_self_attn / pre_attention_x / post_attention_x,
     block_mixing, SelfAttention with ln_q/ln_k RMSNorm, split_qkv, attention, PatchEmbed, cropped_pos_embed,
     TimestepEmbedder, VectorEmbedder, FinalLayer, unpatchify, and the skipped blocks of
     forward_core_with_concat), module by module with the reference's parameter names, so that the reference's
     state_dict loads strictly.
     Deviations, none of which changes the arithmetic: torch 1.13 has no scaled_dot_product_attention, so
     ``attention`` spells it out (softmax(q k^T / sqrt(head_dim)) v, SDPA's default scale); einops is not
     installed, so ``rearrange`` in cropped_pos_embed is the equivalent reshape; the training-only parts
     (register tokens, scale_mod_only, swiglu, rmsnorm blocks, attn1_dropout) are left out because SD3/SD3.5
     checkpoints never use them.
  2. Proves the transcription on the golden data produced with the real reference
     (../shared/golden/mmdit/d2_plain and d2_rms): all four cases, out_f64_temb64 in float64 and out in float32.
  3. Writes, under sd3-onnx/src/test/resources/golden/mmdit/:
       d2_plain/skip.safetensors, d2_rms/skip.safetensors: the sq8x8 inputs and the float64 outputs (float64
         timestep embedding, as out_f64_temb64) with skip_layers=[0] (out_skip0) and [1] (out_skip1).
       dx_mmditx/weights_delta.safetensors: a tiny MMDiT-X = d2_rms (depth 2, hidden 128, 2 heads, QK RMS-norm)
         with x_block_self_attn_layers=[0]: block 0's x_block gets attn2 (qkv, proj, ln_q, ln_k) and a 9-chunk
         adaLN (replacing d2_rms's 6-chunk one). Only these tensors are stored (the full model would be ~5 MB);
         the complete checkpoint is d2_rms/weights.safetensors with these tensors added/replaced.
       dx_mmditx/case.safetensors: inputs (B=2, latent 8x10, text length 7, t = [900, 300]) and outputs
         out_f64_temb64, out (float32), out_skip0, out_skip1 (float64), plus float32 activations act.*.

Weights follow the generator of the existing goldens: numpy RandomState per tensor seeded with
(crc32(name) ^ (base_seed * 2654435761)) & 0xffffffff, value float32(mean + std * standard_normal(n)); weights
std 1/sqrt(fan_in), biases std 0.1, ln_q/ln_k weights mean 1 std 0.2.

Usage: /usr/bin/python3 sd3-onnx/src/test/python/make_mmditx_golden.py [--shared DIR] [--out DIR] [--check-only]
"""

import argparse
import json
import math
import os
import struct
import sys
import zlib
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

PREFIX = "model.diffusion_model."

# --------------------------------------------------------------------------------------------------------------
# safetensors I/O (stdlib + numpy)
# --------------------------------------------------------------------------------------------------------------

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[base + start:base + end], dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None):
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    blobs = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --------------------------------------------------------------------------------------------------------------
# The reference MMDiT (transcription of mmditx.py / other_impls.py)
# --------------------------------------------------------------------------------------------------------------

# The harness swap of the golden data: out_f64_temb64 evaluates the sinusoidal timestep embedding in float64.
TEMB_FLOAT64 = False


def attention(q, k, v, heads, mask=None):
    """other_impls.attention: [B, L, H*Dh] inputs; SDPA spelled out (torch 1.13)."""
    b, _, dim_head = q.shape
    dim_head //= heads
    q, k, v = map(lambda t: t.view(b, -1, heads, dim_head).transpose(1, 2), (q, k, v))
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dim_head))
    if mask is not None:
        scores = scores + mask
    out = torch.matmul(torch.softmax(scores, dim=-1), v)
    return out.transpose(1, 2).reshape(b, -1, heads * dim_head)


class Mlp(nn.Module):
    """other_impls.Mlp."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, bias=True,
                 dtype=None, device=None):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias, dtype=dtype, device=device)
        self.act = act_layer
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias, dtype=dtype, device=device)

    def forward(self, x):
        x = self.fc1(x)
        x = self.act(x)
        x = self.fc2(x)
        return x


class PatchEmbed(nn.Module):
    """2D image to patch embedding (flatten=True, as MMDiTX uses it)."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768, flatten=True, bias=True,
                 strict_img_size=True, dynamic_img_pad=False, dtype=None, device=None):
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.flatten = flatten
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias,
                              dtype=dtype, device=device)

    def forward(self, x):
        x = self.proj(x)
        if self.flatten:
            x = x.flatten(2).transpose(1, 2)  # NCHW -> NLC
        return x


def modulate(x, shift, scale):
    if shift is None:
        shift = torch.zeros_like(scale)
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size, frequency_embedding_size=256, dtype=None, device=None):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size, bias=True, dtype=dtype, device=device),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size, bias=True, dtype=dtype, device=device),
        )
        self.frequency_embedding_size = frequency_embedding_size

    @staticmethod
    def timestep_embedding(t, dim, max_period=10000):
        half = dim // 2
        if TEMB_FLOAT64:
            # Harness swap (out_f64_temb64): the same formula evaluated in float64.
            freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float64) / half)
            args = t[:, None].double() * freqs[None]
        else:
            freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32)
                              / half).to(device=t.device)
            args = t[:, None].float() * freqs[None]
        embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        if dim % 2:
            embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
        if torch.is_floating_point(t):
            embedding = embedding.to(dtype=t.dtype)
        return embedding

    def forward(self, t, dtype, **kwargs):
        t_freq = self.timestep_embedding(t, self.frequency_embedding_size).to(dtype)
        return self.mlp(t_freq)


class VectorEmbedder(nn.Module):
    def __init__(self, input_dim, hidden_size, dtype=None, device=None):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(input_dim, hidden_size, bias=True, dtype=dtype, device=device),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size, bias=True, dtype=dtype, device=device),
        )

    def forward(self, x):
        return self.mlp(x)


def split_qkv(qkv, head_dim):
    qkv = qkv.reshape(qkv.shape[0], qkv.shape[1], 3, -1, head_dim).movedim(2, 0)
    return qkv[0], qkv[1], qkv[2]


class RMSNorm(nn.Module):
    def __init__(self, dim, elementwise_affine=False, eps=1e-6, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.learnable_scale = elementwise_affine
        if self.learnable_scale:
            self.weight = nn.Parameter(torch.empty(dim, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        x = self._norm(x)
        if self.learnable_scale:
            return x * self.weight.to(device=x.device, dtype=x.dtype)
        return x


class SelfAttention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, pre_only=False, qk_norm=None, dtype=None, device=None):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias, dtype=dtype, device=device)
        if not pre_only:
            self.proj = nn.Linear(dim, dim, dtype=dtype, device=device)
        self.pre_only = pre_only
        if qk_norm == "rms":
            self.ln_q = RMSNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6, dtype=dtype, device=device)
            self.ln_k = RMSNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6, dtype=dtype, device=device)
        elif qk_norm == "ln":
            self.ln_q = nn.LayerNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6, dtype=dtype, device=device)
            self.ln_k = nn.LayerNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6, dtype=dtype, device=device)
        elif qk_norm is None:
            self.ln_q = nn.Identity()
            self.ln_k = nn.Identity()
        else:
            raise ValueError(qk_norm)

    def pre_attention(self, x):
        qkv = self.qkv(x)
        q, k, v = split_qkv(qkv, self.head_dim)
        q = self.ln_q(q).reshape(q.shape[0], q.shape[1], -1)
        k = self.ln_k(k).reshape(q.shape[0], q.shape[1], -1)
        return (q, k, v)

    def post_attention(self, x):
        assert not self.pre_only
        return self.proj(x)

    def forward(self, x):
        (q, k, v) = self.pre_attention(x)
        x = attention(q, k, v, self.num_heads)
        return self.post_attention(x)


class DismantledBlock(nn.Module):
    """A DiT block with gated adaptive layer norm (adaLN) conditioning (LayerNorm, GELU-tanh MLP variant)."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, qkv_bias=False, pre_only=False, qk_norm=None,
                 x_block_self_attn=False, dtype=None, device=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6, dtype=dtype, device=device)
        self.attn = SelfAttention(dim=hidden_size, num_heads=num_heads, qkv_bias=qkv_bias, pre_only=pre_only,
                                  qk_norm=qk_norm, dtype=dtype, device=device)
        if x_block_self_attn:
            assert not pre_only
            self.x_block_self_attn = True
            self.attn2 = SelfAttention(dim=hidden_size, num_heads=num_heads, qkv_bias=qkv_bias, pre_only=False,
                                       qk_norm=qk_norm, dtype=dtype, device=device)
        else:
            self.x_block_self_attn = False
        if not pre_only:
            self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6, dtype=dtype, device=device)
            self.mlp = Mlp(in_features=hidden_size, hidden_features=int(hidden_size * mlp_ratio),
                           act_layer=nn.GELU(approximate="tanh"), dtype=dtype, device=device)
        if x_block_self_attn:
            n_mods = 9
        else:
            n_mods = 6 if not pre_only else 2
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, n_mods * hidden_size, bias=True, dtype=dtype, device=device))
        self.pre_only = pre_only

    def pre_attention(self, x, c):
        if not self.pre_only:
            shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
            qkv = self.attn.pre_attention(modulate(self.norm1(x), shift_msa, scale_msa))
            return qkv, (x, gate_msa, shift_mlp, scale_mlp, gate_mlp)
        shift_msa, scale_msa = self.adaLN_modulation(c).chunk(2, dim=1)
        qkv = self.attn.pre_attention(modulate(self.norm1(x), shift_msa, scale_msa))
        return qkv, None

    def post_attention(self, attn, x, gate_msa, shift_mlp, scale_mlp, gate_mlp):
        assert not self.pre_only
        x = x + gate_msa.unsqueeze(1) * self.attn.post_attention(attn)
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x

    def pre_attention_x(self, x, c):
        assert self.x_block_self_attn
        (shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp, shift_msa2, scale_msa2,
         gate_msa2) = self.adaLN_modulation(c).chunk(9, dim=1)
        x_norm = self.norm1(x)
        qkv = self.attn.pre_attention(modulate(x_norm, shift_msa, scale_msa))
        qkv2 = self.attn2.pre_attention(modulate(x_norm, shift_msa2, scale_msa2))
        return qkv, qkv2, (x, gate_msa, shift_mlp, scale_mlp, gate_mlp, gate_msa2)

    def post_attention_x(self, attn, attn2, x, gate_msa, shift_mlp, scale_mlp, gate_mlp, gate_msa2):
        assert not self.pre_only
        attn_ = gate_msa.unsqueeze(1) * self.attn.post_attention(attn)
        x = x + attn_
        attn2_ = gate_msa2.unsqueeze(1) * self.attn2.post_attention(attn2)
        x = x + attn2_
        mlp_ = gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        x = x + mlp_
        return x


ACTIVATIONS = {}  # name -> tensor, filled while RECORD is set (float32 run of the dx case)
RECORD = False


def block_mixing(context, x, context_block, x_block, c):
    assert context is not None, "block_mixing called with None context"
    context_qkv, context_intermediates = context_block.pre_attention(context, c)

    if x_block.x_block_self_attn:
        x_qkv, x_qkv2, x_intermediates = x_block.pre_attention_x(x, c)
    else:
        x_qkv, x_intermediates = x_block.pre_attention(x, c)

    q, k, v = tuple(torch.cat(tuple(qkv[i] for qkv in [context_qkv, x_qkv]), dim=1) for i in range(3))
    attn = attention(q, k, v, x_block.attn.num_heads)
    context_attn, x_attn = (attn[:, : context_qkv[0].shape[1]], attn[:, context_qkv[0].shape[1]:])

    if not context_block.pre_only:
        context = context_block.post_attention(context_attn, *context_intermediates)
    else:
        context = None

    if x_block.x_block_self_attn:
        x_q2, x_k2, x_v2 = x_qkv2
        attn2 = attention(x_q2, x_k2, x_v2, x_block.attn2.num_heads)
        if RECORD:
            ACTIVATIONS["attn2"] = attn2
        x = x_block.post_attention_x(x_attn, attn2, *x_intermediates)
    else:
        x = x_block.post_attention(x_attn, *x_intermediates)
    return context, x


class JointBlock(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        pre_only = kwargs.pop("pre_only")
        qk_norm = kwargs.pop("qk_norm", None)
        x_block_self_attn = kwargs.pop("x_block_self_attn", False)
        self.context_block = DismantledBlock(*args, pre_only=pre_only, qk_norm=qk_norm, **kwargs)
        self.x_block = DismantledBlock(*args, pre_only=False, qk_norm=qk_norm, x_block_self_attn=x_block_self_attn,
                                       **kwargs)

    def forward(self, *args, **kwargs):
        return block_mixing(*args, context_block=self.context_block, x_block=self.x_block, **kwargs)


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels, dtype=None, device=None):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6, dtype=dtype, device=device)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True, dtype=dtype,
                                device=device)
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True, dtype=dtype, device=device))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        x = modulate(self.norm_final(x), shift, scale)
        return self.linear(x)


class MMDiTX(nn.Module):
    def __init__(self, input_size=32, patch_size=2, in_channels=4, depth=28, mlp_ratio=4.0, adm_in_channels=None,
                 context_embedder_config=None, out_channels=None, pos_embed_max_size=None, num_patches=None,
                 qk_norm=None, x_block_self_attn_layers: Optional[List[int]] = (), qkv_bias=True, dtype=None,
                 device=None):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels if out_channels is not None else in_channels
        self.patch_size = patch_size
        self.pos_embed_max_size = pos_embed_max_size
        self.x_block_self_attn_layers = list(x_block_self_attn_layers)

        # apply magic --> this defines a head_size of 64
        hidden_size = 64 * depth
        num_heads = depth
        self.num_heads = num_heads

        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size, bias=True,
                                     strict_img_size=self.pos_embed_max_size is None, dtype=dtype, device=device)
        self.t_embedder = TimestepEmbedder(hidden_size, dtype=dtype, device=device)
        if adm_in_channels is not None:
            self.y_embedder = VectorEmbedder(adm_in_channels, hidden_size, dtype=dtype, device=device)
        self.context_embedder = nn.Identity()
        if context_embedder_config is not None and context_embedder_config["target"] == "torch.nn.Linear":
            self.context_embedder = nn.Linear(**context_embedder_config["params"], dtype=dtype, device=device)
        if num_patches is not None:
            self.register_buffer("pos_embed", torch.zeros(1, num_patches, hidden_size, dtype=dtype, device=device))
        else:
            self.pos_embed = None
        self.joint_blocks = nn.ModuleList([
            JointBlock(hidden_size, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, pre_only=i == depth - 1,
                       qk_norm=qk_norm, x_block_self_attn=(i in self.x_block_self_attn_layers), dtype=dtype,
                       device=device)
            for i in range(depth)
        ])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels, dtype=dtype, device=device)

    def cropped_pos_embed(self, hw):
        assert self.pos_embed_max_size is not None
        p = self.x_embedder.patch_size[0]
        h, w = hw
        h = h // p
        w = w // p
        assert h <= self.pos_embed_max_size, (h, self.pos_embed_max_size)
        assert w <= self.pos_embed_max_size, (w, self.pos_embed_max_size)
        top = (self.pos_embed_max_size - h) // 2
        left = (self.pos_embed_max_size - w) // 2
        # rearrange "1 (h w) c -> 1 h w c" and back
        spatial = self.pos_embed.reshape(1, self.pos_embed_max_size, self.pos_embed_max_size, -1)
        spatial = spatial[:, top: top + h, left: left + w, :]
        return spatial.reshape(1, h * w, spatial.shape[-1])

    def unpatchify(self, x, hw=None):
        c = self.out_channels
        p = self.x_embedder.patch_size[0]
        if hw is None:
            h = w = int(x.shape[1] ** 0.5)
        else:
            h, w = hw
            h = h // p
            w = w // p
        assert h * w == x.shape[1]
        x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(shape=(x.shape[0], c, h * p, w * p))

    def forward_core_with_concat(self, x, c_mod, context=None, skip_layers: Optional[List] = ()):
        # context is B, L', D; x is B, L, D
        for i, block in enumerate(self.joint_blocks):
            if i in skip_layers:
                continue
            context, x = block(context, x, c=c_mod)
            if RECORD:
                if context is not None:
                    ACTIVATIONS["joint_blocks.%d.context" % i] = context
                ACTIVATIONS["joint_blocks.%d.x" % i] = x
        x = self.final_layer(x, c_mod)  # (N, T, patch_size ** 2 * out_channels)
        if RECORD:
            ACTIVATIONS["final_layer"] = x
        return x

    def forward(self, x, t, y=None, context=None, skip_layers: Optional[List] = ()):
        hw = x.shape[-2:]
        x = self.x_embedder(x) + self.cropped_pos_embed(hw)
        c = self.t_embedder(t, dtype=x.dtype)  # (N, D)
        if y is not None:
            y = self.y_embedder(y)  # (N, D)
            c = c + y  # (N, D)
        context = self.context_embedder(context)
        x = self.forward_core_with_concat(x, c, context, skip_layers)
        return self.unpatchify(x, hw=hw)  # (N, out_channels, H, W)


# --------------------------------------------------------------------------------------------------------------
# Building a model from a checkpoint dict, as the reference's BaseModel detects the configuration
# --------------------------------------------------------------------------------------------------------------

def build_model(state: Dict[str, np.ndarray], dtype):
    sd = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    patch_size = sd["x_embedder.proj.weight"].shape[2]
    depth = sd["x_embedder.proj.weight"].shape[0] // 64
    num_patches = sd["pos_embed"].shape[1]
    pos_embed_max_size = round(math.sqrt(num_patches))
    adm_in_channels = sd["y_embedder.mlp.0.weight"].shape[1]
    context_shape = sd["context_embedder.weight"].shape
    qk_norm = "rms" if "joint_blocks.0.context_block.attn.ln_k.weight" in sd else None
    x_block_self_attn_layers = sorted(
        int(k.split(".")[1]) for k in sd if k.startswith("joint_blocks.") and k.endswith("x_block.attn2.ln_k.weight"))
    model = MMDiTX(input_size=None, pos_embed_max_size=pos_embed_max_size, patch_size=patch_size, in_channels=16,
                   depth=depth, num_patches=num_patches, adm_in_channels=adm_in_channels,
                   context_embedder_config={"target": "torch.nn.Linear",
                                            "params": {"in_features": context_shape[1],
                                                       "out_features": context_shape[0]}},
                   qk_norm=qk_norm, x_block_self_attn_layers=x_block_self_attn_layers, dtype=torch.float32)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in sd.items()}, strict=True)
    return model.to(dtype).eval()


def run(model, case, dtype, temb64, skip_layers=(), record=False):
    global TEMB_FLOAT64, RECORD
    TEMB_FLOAT64 = temb64
    RECORD = record
    ACTIVATIONS.clear()
    try:
        with torch.no_grad():
            def t_(name):
                return torch.from_numpy(np.asarray(case[name])).to(dtype)
            out = model(t_("x"), t_("t"), y=t_("y"), context=t_("context"), skip_layers=list(skip_layers))
        return out.numpy()
    finally:
        TEMB_FLOAT64 = False
        RECORD = False


# --------------------------------------------------------------------------------------------------------------
# Seeded weights (the existing goldens' generator)
# --------------------------------------------------------------------------------------------------------------

def seeded(name, shape, mean, std, base_seed):
    seed = (zlib.crc32(name.encode("utf-8")) ^ (base_seed * 2654435761)) & 0xFFFFFFFF
    n = int(np.prod(shape))
    return np.float32(mean + std * np.random.RandomState(seed).standard_normal(n)).reshape(shape).astype(np.float32)


def mmditx_delta(hidden, layers, base_seed):
    """attn2 and the 9-chunk adaLN of x_block for each layer in `layers`."""
    specs = []
    for i in layers:
        b = PREFIX + "joint_blocks.%d.x_block." % i
        specs += [
            (b + "adaLN_modulation.1.weight", (9 * hidden, hidden), 0.0, 1 / math.sqrt(hidden)),
            (b + "adaLN_modulation.1.bias", (9 * hidden,), 0.0, 0.1),
            (b + "attn2.qkv.weight", (3 * hidden, hidden), 0.0, 1 / math.sqrt(hidden)),
            (b + "attn2.qkv.bias", (3 * hidden,), 0.0, 0.1),
            (b + "attn2.proj.weight", (hidden, hidden), 0.0, 1 / math.sqrt(hidden)),
            (b + "attn2.proj.bias", (hidden,), 0.0, 0.1),
            (b + "attn2.ln_q.weight", (64,), 1.0, 0.2),
            (b + "attn2.ln_k.weight", (64,), 1.0, 0.2),
        ]
    return {n: seeded(n, s, m, sd, base_seed) for n, s, m, sd in specs}, specs


# --------------------------------------------------------------------------------------------------------------

def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def check(shared):
    print("== transcription check against the reference's golden outputs ==")
    worst64 = worst32 = 0.0
    for model_name in ("d2_plain", "d2_rms"):
        weights, _ = read_safetensors(os.path.join(shared, model_name, "weights.safetensors"))
        m64 = build_model(weights, torch.float64)
        m32 = build_model(weights, torch.float32)
        for case_name in ("sq8x8", "rect8x12", "odd6x10", "full32x32"):
            case, _ = read_safetensors(os.path.join(shared, model_name, case_name + ".safetensors"))
            d64 = max_abs(run(m64, case, torch.float64, True), case["out_f64_temb64"])
            dref = max_abs(run(m64, case, torch.float64, False), case["out_f64"])
            d32 = max_abs(run(m32, case, torch.float32, False), case["out"])
            worst64, worst32 = max(worst64, d64, dref), max(worst32, d32)
            print("%-8s %-9s out_f64_temb64 %.3e   out_f64 %.3e   out(f32) %.3e" % (model_name, case_name, d64, dref,
                                                                                     d32))
    print("worst float64 %.3e, worst float32 %.3e" % (worst64, worst32))
    if worst64 > 1e-9 or worst32 > 1e-5:
        sys.exit("transcription does not reproduce the reference")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(repo, "..", "shared", "golden", "mmdit"))
    ap.add_argument("--out", default=os.path.join(repo, "sd3-onnx", "src", "test", "resources", "golden", "mmdit"))
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    check(args.shared)
    if args.check_only:
        return

    provenance = "sd3j make_mmditx_golden.py (transcription of Stability-AI/sd3.5 mmditx.py, torch %s)" % torch.__version__

    # --- skip-layer goldens on d2_plain / d2_rms, sq8x8 inputs ---
    print("== skip-layer goldens ==")
    for model_name in ("d2_plain", "d2_rms"):
        weights, _ = read_safetensors(os.path.join(args.shared, model_name, "weights.safetensors"))
        m64 = build_model(weights, torch.float64)
        case, _ = read_safetensors(os.path.join(args.shared, model_name, "sq8x8.safetensors"))
        out = {k: case[k] for k in ("x", "t", "y", "context")}
        for skip in (0, 1):
            out["out_skip%d" % skip] = run(m64, case, torch.float64, True, [skip]).astype(np.float64)
        full = run(m64, case, torch.float64, True)
        print("%s: skip0 vs full %.3f, skip1 vs full %.3f (max abs)" % (
            model_name, max_abs(out["out_skip0"], full), max_abs(out["out_skip1"], full)))
        write_safetensors(os.path.join(args.out, model_name, "skip.safetensors"), out, {
            "model": model_name, "case": "sq8x8", "generator": provenance,
            "outputs": "out_skipN: float64 model and inputs, float64 timestep embedding, forward(..., "
                       "skip_layers=[N]) (joint block N bypassed)"})

    # --- MMDiT-X: d2_rms + attn2 in block 0 ---
    print("== MMDiT-X golden ==")
    base, _ = read_safetensors(os.path.join(args.shared, "d2_rms", "weights.safetensors"))
    delta, specs = mmditx_delta(128, [0], base_seed=3003)
    weights = dict(base)
    weights.update(delta)
    m64 = build_model(weights, torch.float64)
    m32 = build_model(weights, torch.float32)
    assert m64.x_block_self_attn_layers == [0] and m64.joint_blocks[0].x_block.x_block_self_attn
    rs = np.random.RandomState(21)
    b, h, w, length = 2, 8, 10, 7
    case = {
        "x": rs.standard_normal((b, 16, h, w)).astype(np.float32),
        "context": rs.standard_normal((b, length, 96)).astype(np.float32),
        "y": rs.standard_normal((b, 64)).astype(np.float32),
        "t": np.array([1000 * 0.9, 1000 * 0.3], dtype=np.float32),
    }
    out = dict(case)
    out["out_f64_temb64"] = run(m64, case, torch.float64, True).astype(np.float64)
    out["out"] = run(m32, case, torch.float32, False, record=True).astype(np.float32)
    for k, v in ACTIVATIONS.items():
        out["act." + k] = v.numpy().astype(np.float32)
    for skip in (0, 1):
        out["out_skip%d" % skip] = run(m64, case, torch.float64, True, [skip]).astype(np.float64)
    print("dx_mmditx: out absmax %.3f std %.3f; f32 vs f64 %.3e; skip0 vs full %.3f; skip1 vs full %.3f" % (
        np.abs(out["out"]).max(), out["out"].std(), max_abs(out["out"], out["out_f64_temb64"]),
        max_abs(out["out_skip0"], out["out_f64_temb64"]), max_abs(out["out_skip1"], out["out_f64_temb64"])))
    write_safetensors(os.path.join(args.out, "dx_mmditx", "weights_delta.safetensors"), delta, {
        "format": "pt", "model": "dx_mmditx", "generator": provenance,
        "base": "d2_rms/weights.safetensors",
        "note": "MMDiT-X = d2_rms with these tensors added or replacing d2_rms's (x_block_self_attn_layers [0])",
        "spec": json.dumps({"base_seed": 3003, "tensors": [
            {"name": n, "shape": list(s), "mean": m, "std": sd} for n, s, m, sd in specs]})})
    write_safetensors(os.path.join(args.out, "dx_mmditx", "case.safetensors"), out, {
        "model": "dx_mmditx", "case": "b2_8x10_l7", "generator": provenance, "input_seed": "21",
        "outputs": "out_f64_temb64: float64 model/inputs, float64 timestep embedding; out: float32; out_skipN: as "
                   "out_f64_temb64 with skip_layers=[N]; act.*: float32 block outputs, block 0's attn2 output, "
                   "final_layer (before unpatchify)"})
    total = 0
    for root, _, files in os.walk(args.out):
        for f in files:
            p = os.path.join(root, f)
            if "dx_mmditx" in p or f == "skip.safetensors":
                total += os.path.getsize(p)
                print("  %8d  %s" % (os.path.getsize(p), os.path.relpath(p, args.out)))
    print("new golden bytes: %d" % total)


if __name__ == "__main__":
    main()
