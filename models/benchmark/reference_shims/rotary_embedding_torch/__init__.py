"""A from-scratch stand-in for rotary-embedding-torch's RotaryEmbedding, covering
what the reference RoFormer uses: RotaryEmbedding(dim=dim_head) with its
defaults (language frequencies, theta 10000, no xpos, no interpolation) and
rotate_queries_or_keys(t) over the sequence axis -2, computed as
rotary-embedding-torch 0.8.x computes it: positions 0..n-1 in t's dtype, angles
= position x freqs (the parameter `freqs`, so checkpoints load it), each angle
repeated for an interleaved pair (0,1), (2,3)..., and
t * cos + rotate_half(t) * sin with rotate_half(x)[2i, 2i+1] = (-x[2i+1], x[2i]).
The real module caches the angles; computing them again gives the same values.
"""
import torch
from torch import nn

from einops import rearrange, repeat

__all__ = ["RotaryEmbedding", "apply_rotary_emb", "rotate_half"]


def rotate_half(x):
    x = rearrange(x, "... (d r) -> ... d r", r=2)
    x1, x2 = x.unbind(dim=-1)
    x = torch.stack((-x2, x1), dim=-1)
    return rearrange(x, "... d r -> ... (d r)")


def apply_rotary_emb(freqs, t, start_index=0, scale=1.0, seq_dim=-2):
    dtype = t.dtype
    if t.ndim == 3 or freqs.ndim == 2:
        freqs = freqs[-t.shape[seq_dim]:]
    end_index = start_index + freqs.shape[-1]
    if end_index > t.shape[-1]:
        raise ValueError("rotary dimension %d above the feature dimension %d" % (freqs.shape[-1], t.shape[-1]))
    t_left, t_middle, t_right = t[..., :start_index], t[..., start_index:end_index], t[..., end_index:]
    t_transformed = (t_middle * freqs.cos() * scale) + (rotate_half(t_middle) * freqs.sin() * scale)
    return torch.cat((t_left, t_transformed, t_right), dim=-1).type(dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, custom_freqs=None, freqs_for="lang", theta=10000, learned_freq=False,
                 use_xpos=False, interpolate_factor=1.0, seq_before_head_dim=False, **unused):
        super().__init__()
        if freqs_for != "lang" or use_xpos or interpolate_factor != 1.0:
            raise NotImplementedError("rotary_embedding_torch stand-in: only the defaults the RoFormer uses")
        theta = float(theta)
        if custom_freqs is not None:
            freqs = custom_freqs
        else:
            freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[:(dim // 2)].float() / dim))
        self.freqs = nn.Parameter(freqs, requires_grad=learned_freq)
        self.default_seq_dim = -3 if seq_before_head_dim else -2

    def forward(self, t, seq_len=None, offset=0):
        freqs = torch.einsum("..., f -> ... f", t.type(self.freqs.dtype), self.freqs)
        return repeat(freqs, "... n -> ... (n r)", r=2)

    def rotate_queries_or_keys(self, t, seq_dim=None, offset=0, scale=None):
        seq_dim = self.default_seq_dim if seq_dim is None else seq_dim
        seq_len = t.shape[seq_dim]
        seq = torch.arange(seq_len, device=t.device, dtype=t.dtype) + offset
        freqs = self.forward(seq, seq_len=seq_len, offset=offset)
        if seq_dim == -3:
            freqs = rearrange(freqs, "n d -> n 1 d")
        return apply_rotary_emb(freqs, t, scale=1.0 if scale is None else scale, seq_dim=seq_dim)
