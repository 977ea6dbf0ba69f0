"""einops.layers.torch.Rearrange for the einops stand-in: a module that rearranges its input."""
from torch import nn

from einops import rearrange


class Rearrange(nn.Module):
    def __init__(self, pattern, **sizes):
        super().__init__()
        self.pattern = pattern
        self.sizes = sizes

    def forward(self, x):
        return rearrange(x, self.pattern, **self.sizes)
