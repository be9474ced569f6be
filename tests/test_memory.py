"""Memory hygiene: SHAP leaves no activations behind; freed heap goes back to the OS."""
from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from ecgcore.explain import shap_attr
from ecgcore.memory import rss_mb, trim_heap
from ecgcore.signal.views import compute_view


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.act = nn.Conv1d(12, 4, 5), nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class Nested(nn.Module):
    """A custom module inside a custom module (like the real nets' residual blocks)."""

    def __init__(self):
        super().__init__()
        self.inner, self.head = Inner(), nn.Linear(4, 5)

    def forward(self, x):
        return self.head(self.inner(x).mean(-1))


def _leftovers(net: nn.Module) -> list[str]:
    explainer = shap_attr._explainer(net, 0, (1.0, 0.0), "spectrum", 4, 0, "deep")
    return [name for name, m in explainer.explainer.model.named_modules()
            if "x" in m._parameters or "y" in m._parameters]


def test_deep_explainer_activations_are_dropped_from_nested_modules(ptbxl_dir, monkeypatch):
    values = compute_view("spectrum", shap_attr.background_signals(4, 0)[:1]).values[0]
    run = lambda net: shap_attr.shap_attributions(net, values, "spectrum", 0, (1.0, 0.0), 4, 0)  # noqa: E731
    with monkeypatch.context() as m:            # shap alone leaves them on the inner modules
        m.setattr(shap_attr, "_drop_activations", lambda explainer: None)
        leaky = Nested().eval()
        _, kind = run(leaky)
        assert kind == "deep" and any(n.startswith("net.inner") for n in _leftovers(leaky))
    clean = Nested().eval()
    phi, kind = run(clean)
    assert kind == "deep" and phi.shape == values.shape and np.isfinite(phi).all()
    assert _leftovers(clean) == []


def test_trim_heap_returns_freed_fragmented_heap_to_the_os():
    blocks = [bytearray(4000) for _ in range(50_000)]          # ~200 MB of malloc'd blocks
    pin = bytearray(4000)                                      # a live block above them
    del blocks                                                 # freed, but glibc keeps the pages
    before = rss_mb()
    released = trim_heap()
    after = rss_mb()
    del pin
    if not released and np.isnan(after):
        pytest.skip("not glibc / no /proc")
    assert released and after < before - 100, (before, after)


def test_rss_of_this_process():
    assert 10 < rss_mb() < 1e6
    assert np.isnan(rss_mb(pid=2**31 - 1))                     # no such process
