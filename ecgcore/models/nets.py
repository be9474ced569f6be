"""The networks only: nn.Modules with shape comments, no I/O.

Every net takes its view's raw values (mV) and returns 5 logits. Input scaling lives inside
the net as buffers (so it travels with the weights). No in-place ReLU, no `+=` on activations
and no activation module used twice: SHAP's DeepExplainer needs that.
"""
from __future__ import annotations

import torch
from torch import nn


class InputScale(nn.Module):
    """Optional log1p, then per-lead standardisation with stored mean/std. (N, 12, ...) -> same."""

    def __init__(self, n_leads: int = 12, log: bool = False, log_scale: float = 1.0):
        super().__init__()
        self.log, self.log_scale = log, log_scale
        self.register_buffer("mean", torch.zeros(n_leads))
        self.register_buffer("std", torch.ones(n_leads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.log:
            x = torch.log1p(x * self.log_scale)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.view(shape)) / self.std.view(shape)


class ResBlock1d(nn.Module):
    """Two convs + shortcut. (N, c_in, T) -> (N, c_out, T / stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dropout: float):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.act1 = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.short = nn.Identity() if (c_in == c_out and stride == 1) else nn.Sequential(
            nn.Conv1d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm1d(c_out))
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.act1(self.bn1(self.conv1(x))))
        y = self.bn2(self.conv2(y))
        return self.act2(y + self.short(x))


class SignalResNet(nn.Module):
    """1D residual CNN on the time signal. (N, 12, T) mV -> (N, n_classes) logits."""

    def __init__(self, n_classes: int = 5, width: int = 64, depth: int = 4, kernel: int = 7,
                 dropout: float = 0.2):
        super().__init__()
        self.scale = InputScale()
        self.stem = nn.Sequential(nn.Conv1d(12, width, 15, 2, 7, bias=False),
                                  nn.BatchNorm1d(width), nn.ReLU())
        blocks, c = [], width
        for i in range(depth):
            c_out = width * (2 if i >= depth // 2 else 1)
            blocks.append(ResBlock1d(c, c_out, kernel, 2 if i > 0 else 1, dropout))
            c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * c, n_classes))
        self.embed_dim = 2 * c

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(self.scale(x)))                 # (N, C, T')
        return torch.cat([h.mean(-1), h.amax(-1)], dim=1)           # (N, 2C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class SpectrumTransformer(nn.Module):
    """1D CNN front end over frequency + Transformer encoder. (N, 12, F) mV -> (N, n_classes)."""

    def __init__(self, n_classes: int = 5, n_freqs: int = 451, d_model: int = 64, n_layers: int = 2,
                 n_heads: int = 4, dropout: float = 0.2, log_scale: float = 100.0):
        super().__init__()
        self.scale = InputScale(log=True, log_scale=log_scale)
        self.front = nn.Sequential(
            nn.Conv1d(12, d_model, 7, 2, 3, bias=False), nn.BatchNorm1d(d_model), nn.ReLU(),
            nn.Conv1d(d_model, d_model, 5, 2, 2, bias=False), nn.BatchNorm1d(d_model), nn.ReLU(),
            nn.Conv1d(d_model, d_model, 5, 2, 2, bias=False), nn.BatchNorm1d(d_model), nn.ReLU())
        n_tokens = n_freqs
        for _ in range(3):
            n_tokens = (n_tokens + 1) // 2
        self.pos = nn.Parameter(torch.zeros(1, n_tokens, d_model))
        layer = nn.TransformerEncoderLayer(d_model, n_heads, 2 * d_model, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(2 * d_model), nn.Dropout(dropout),
                                  nn.Linear(2 * d_model, n_classes))
        self.embed_dim = 2 * d_model

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.front(self.scale(x)).transpose(1, 2)              # (N, tokens, d)
        h = self.encoder(h + self.pos)
        return torch.cat([h.mean(1), h.amax(1)], dim=1)             # (N, 2d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class ConvBlock2d(nn.Module):
    """conv-bn-relu x2 then pool. (N, c_in, S, T) -> (N, c_out, S / pool[0], T / pool[1])."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int], dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.MaxPool2d(pool), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ScalogramCNN(nn.Module):
    """2D CNN on the 12-lead scalogram (leads as channels). (N, 12, S, T) mV -> (N, n_classes)."""

    def __init__(self, n_classes: int = 5, widths: tuple[int, ...] = (32, 48, 64, 96),
                 dropout: float = 0.2, log_scale: float = 10.0):
        super().__init__()
        self.scale = InputScale(log=True, log_scale=log_scale)
        pools = [(2, 2), (2, 2), (2, 2), (2, 2)]
        blocks, c = [], 12
        for w, p in zip(widths, pools):
            blocks.append(ConvBlock2d(c, w, p, dropout if c != 12 else 0.0))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * c, n_classes))
        self.embed_dim = 2 * c

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.scale(x)).flatten(2)                  # (N, C, S' * T')
        return torch.cat([h.mean(-1), h.amax(-1)], dim=1)           # (N, 2C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


NETS: dict[str, type[nn.Module]] = {
    "SignalResNet": SignalResNet,
    "SpectrumTransformer": SpectrumTransformer,
    "ScalogramCNN": ScalogramCNN,
}


class Ensemble(nn.Module):
    """K independently initialised members of one architecture; logits are the members' mean.
    (N, 12, ...) -> (N, n_classes). Members train on the same batches with their own losses."""

    def __init__(self, n_classes: int = 5, member: str = "SignalResNet", k: int = 3,
                 member_kwargs: dict | None = None):
        super().__init__()
        self.members = nn.ModuleList([NETS[member](n_classes=n_classes, **(member_kwargs or {}))
                                      for _ in range(k)])
        self.embed_dim = sum(m.embed_dim for m in self.members)

    @property
    def scales(self) -> list[InputScale]:
        return [m.scale for m in self.members]

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])              # (K, N, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.embed(x) for m in self.members], dim=1)   # (N, sum of embed dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.member_logits(x).mean(0)


NETS["Ensemble"] = Ensemble
