"""Every shipped model: hash-checked loading, the predict_proba contract, the card's predictions."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ecgcore.signal.record import CLASSES, LEADS, model_input
from ecgcore.models.registry import REGISTRY, WEIGHTS_DIR, WeightsError, load_model, verify, write_sums

SHIPPED = [n for n in list(REGISTRY) + ["fused"] if (WEIGHTS_DIR / f"{n}.pt").is_file()]


def test_all_registered_models_are_shipped():
    assert SHIPPED == list(REGISTRY) + ["fused"], f"weights missing: {sorted(set(REGISTRY) - set(SHIPPED))}"


@pytest.mark.parametrize("name", SHIPPED)
def test_contract_and_card_predictions(name, ptbxl_dir):
    from ecgcore.io.ptbxl import load_record
    model = load_model(name)
    card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
    ids = [int(i) for i in card["reference_predictions"]]
    x = np.stack([model_input(load_record(i, 100)) for i in ids])
    p = model.predict_proba(x)
    assert p.shape == (2, 5) and p.dtype == np.float32
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    expected = np.array([card["reference_predictions"][str(i)] for i in ids])
    assert np.allclose(p, expected, atol=1e-4)
    assert model.thresholds.shape == (5,)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "fused"])
def test_weights_are_self_describing(name):
    ckpt = torch.load(WEIGHTS_DIR / f"{name}.pt", weights_only=True)
    assert ckpt["classes"] == list(CLASSES) and ckpt["leads"] == list(LEADS)
    assert ckpt["fs"] == 100 and ckpt["view"] == REGISTRY[name].view
    assert ckpt["net"] == REGISTRY[name].net and "state_dict" in ckpt and "net_kwargs" in ckpt
    calib = ckpt["calibration"]
    assert calib["kind"] in ("temperature", "platt") and len(ckpt["thresholds"]) == 5
    assert len(calib["slope"]) == 5 and len(calib["intercept"]) == 5 and "fold 9" in calib["method"]


@pytest.mark.parametrize("name", SHIPPED[:1])
def test_tampered_weights_are_refused(name, tmp_path):
    shutil.copy(WEIGHTS_DIR / f"{name}.pt", tmp_path / f"{name}.pt")
    shutil.copy(WEIGHTS_DIR / "SHA256SUMS", tmp_path / "SHA256SUMS")
    verify(tmp_path / f"{name}.pt")                                   # intact copy passes
    data = bytearray((tmp_path / f"{name}.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / f"{name}.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="integrity check"):
        load_model(name, tmp_path)


def test_unlisted_and_missing_weights_are_refused(tmp_path):
    torch.save({"format": "x"}, tmp_path / "signal.pt")
    with pytest.raises(WeightsError, match="not listed"):
        load_model("signal", tmp_path)
    write_sums(tmp_path)
    (tmp_path / "signal.pt").unlink()
    with pytest.raises(WeightsError, match="not found"):
        load_model("signal", tmp_path)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "fused"])
def test_bad_input_shape_is_refused(name):
    model = load_model(name)
    with pytest.raises(ValueError, match="1000, 12"):
        model.predict_proba(np.zeros((1, 500, 12), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        model.predict_proba(np.full((1, 1000, 12), np.nan, np.float32))


@pytest.mark.parametrize("name", list(REGISTRY))
def test_embeddings_feed_the_head(name):
    """EcgModel.embeddings (used by the joint-fusion comparison) are the features the head reads."""
    model = load_model(name)
    x = np.random.default_rng(0).normal(0, 0.3, (3, 1000, 12)).astype(np.float32)
    e = model.embeddings(x)
    assert e.shape == (3, model.net.embed_dim) and np.isfinite(e).all()
    net = model.net
    heads = [m.head for m in net.members] if hasattr(net, "members") else [net.head]
    dims = np.cumsum([0] + [m.embed_dim for m in getattr(net, "members", [net])])
    with torch.no_grad():
        z = np.mean([h(torch.from_numpy(e[:, a:b])).numpy() for h, a, b in zip(heads, dims[:-1], dims[1:])], 0)
    assert np.allclose(z, model.logits(x), atol=1e-4)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_inference_net_equals_the_net_it_folds(name):
    """predict_proba runs a rewritten copy (BatchNorm folded, 1-D convs as 2-D); it must give the original net's logits."""
    model = load_model(name)
    assert model.fast_net is not model.net
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.fast_net.modules())
    assert not any(type(m) is torch.nn.Conv1d for m in model.fast_net.modules())   # run as 2-D convs
    values = model.view(np.random.default_rng(1).normal(0, 0.3, (4, 1000, 12)).astype(np.float32)).values
    with torch.inference_mode():
        want = model.net(torch.from_numpy(values)).numpy()
    got = model.logits_from_view(values)
    assert np.abs(got - want).max() < 1e-4
