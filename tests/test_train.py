"""Training pieces: auxiliary subclass labels, the auxiliary loss, augmentation, and one real epoch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.models import nets
from ecgcore.signal.record import CLASSES
from ecgcore.signal.augment import augment_signal
from ecgcore.models.train import AuxHeads, members, subsample, train_command

SUPER_OF = {"IMI": "MI", "AMI": "MI", "LMI": "MI", "PMI": "MI", "CLBBB": "CD", "CRBBB": "CD", "LVH": "HYP",
            "NORM": "NORM", "STTC": "STTC", "NST_": "STTC", "ISC_": "STTC"}


def test_aux_labels_refine_the_superclasses(ptbxl_dir, index):
    from ecgcore.models.dataset import aux_labels
    from ecgcore.io.ptbxl import split_ids
    ids = split_ids(index, 9)
    names, y_aux = aux_labels(ids, str(ptbxl_dir))
    assert len(names) == 23 and y_aux.shape == (len(ids), 23) and set(np.unique(y_aux)) <= {0.0, 1.0}
    y = index.loc[ids, list(CLASSES)].to_numpy()
    for sub, sup in SUPER_OF.items():              # a subclass implies its superclass
        on = y_aux[:, names.index(sub)] == 1
        assert y[on, CLASSES.index(sup)].all(), sub
    assert (y_aux.sum(1) > 0).all()                 # every record in the split has a subclass


@pytest.mark.parametrize("net_name, kwargs, shape", [
    ("SignalResNet", {"width": 8, "depth": 2}, (4, 12, 1000)),
    ("Ensemble", {"member": "SpectrumTransformer", "k": 2, "member_kwargs": {"d_model": 16}}, (4, 12, 451)),
])
def test_aux_loss_adds_to_the_main_loss(net_name, kwargs, shape):
    torch.manual_seed(0)
    net = nets.NETS[net_name](n_classes=5, **kwargs).eval()
    heads = AuxHeads(net, 23)
    assert len(heads.heads) == len(members(net))
    x, y = torch.rand(shape), (torch.rand(4, 5) > 0.5).float()      # magnitudes: non-negative
    y_aux = (torch.rand(4, 23) > 0.5).float()
    main = torch.stack([torch.nn.functional.binary_cross_entropy_with_logits(m(x), y) for m in members(net)]).mean()
    assert torch.allclose(heads.loss(net, x, y, y_aux, 0.0), main, atol=1e-6)
    assert heads.loss(net, x, y, y_aux, 0.5) > main
    assert "heads" not in "".join(net.state_dict())            # the shipped net carries no aux head


def test_augment_signal_keeps_shape_and_scale():
    rng = np.random.default_rng(0)
    x = np.sin(np.linspace(0, 60, 1000))[None, :, None].repeat(12, 2).repeat(8, 0).astype(np.float32)
    out = augment_signal(x, rng)
    assert out.shape == x.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert 0.5 < out.std() / x.std() < 2.0


def test_one_epoch_writes_a_loadable_self_describing_file(ptbxl_dir, tmp_path):
    from ecgcore.models.registry import load_model
    from ecgcore.models.train import train
    path = train("spectrum", str(ptbxl_dir), epochs=1, out_dir=tmp_path, aux_weight=0.5, fraction=0.5)
    model = load_model("spectrum", tmp_path)                    # through the SHA256SUMS check
    tr = model.ckpt["train"]
    assert path == tmp_path / "spectrum.pt" and (tmp_path / "runs" / "spectrum" / "last.pt").is_file()
    assert tr["hyperparameters"]["aux_weight"] == 0.5 and "--aux-weight 0.5" in tr["command"]
    assert "--fraction 0.5" in tr["command"] and tr["n_val"] > 200 and 0.5 < tr["val_auc"] <= 1.0
    assert 700 < tr["n_train"] < 800                            # half of the 1,501 training records
    assert tr["machine"]["torch"] == torch.__version__ and tr["machine"]["isa"] and tr["machine"]["cpu"]
    p = model.predict_proba(np.zeros((2, 1000, 12), np.float32))
    assert p.shape == (2, 5) and np.isfinite(p).all()
    from ecgcore.models.compare import compare, markdown               # the trial against the shipped net, fold 9
    shipped, trial = compare([tmp_path], ["spectrum"], str(ptbxl_dir))
    assert shipped["vs_shipped"] is None and trial["n_train"] == tr["n_train"] and trial["fraction"] == 0.5
    assert abs(trial["fold9_auc"] - tr["val_auc"]) < 1e-4         # the AUC the run chose its epoch by
    d = trial["vs_shipped"]
    assert d["ci95"][0] <= d["difference"] <= d["ci95"][1]
    assert abs(d["difference"] - (trial["fold9_auc"] - shipped["fold9_auc"])) < 1e-9
    assert "| spectrum |" in markdown([shipped, trial], tr["n_val"])


def test_subsample_draws_a_fixed_fraction_of_rows():
    arrays = {"ids": np.arange(100, 300), "x": np.arange(200)[:, None] * np.ones((1, 3)), "y": np.arange(200)}
    half = subsample(arrays, 0.5, seed=0)
    assert len(half["ids"]) == 100 and (np.diff(half["ids"]) > 0).all()       # order kept, no repeats
    assert (half["x"][:, 0] == half["ids"] - 100).all() and (half["y"] == half["ids"] - 100).all()
    assert (subsample(arrays, 0.5, seed=0)["ids"] == half["ids"]).all()        # seeded
    assert not (subsample(arrays, 0.5, seed=1)["ids"] == half["ids"]).all()
    assert subsample(arrays, 1.0, seed=0) is arrays
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            subsample(arrays, bad, seed=0)


def test_train_command_names_every_option_that_differs_from_the_recipe():
    from ecgcore.models.registry import REGISTRY
    spec = REGISTRY["scalogram"]
    assert train_command(spec, dict(spec.train), 0, "/d") == "python -m ecgcore.models.train scalogram --data /d"
    hp = dict(spec.train, epochs=3, aux_weight=0.0, fraction=0.25)
    assert train_command(spec, hp, 2, None) == ("python -m ecgcore.models.train scalogram --data $PTBXL_DIR --epochs 3 "
                                                "--seed 2 --aux-weight 0.0 --fraction 0.25")


def test_training_is_reproducible_and_a_resumed_run_equals_an_uninterrupted_one(ptbxl_dir, tmp_path):
    """Stopped after epoch 1 and resumed with --resume -> bit-identical to an uninterrupted run
    (so the same command gives the same weights, interrupted or not)."""
    from ecgcore.models import train as train_mod
    kw = dict(epochs=2, fraction=0.1)
    train_mod.train("spectrum", str(ptbxl_dir), out_dir=tmp_path / "a", **kw)
    assert train_mod.train("spectrum", str(ptbxl_dir), out_dir=tmp_path / "b", stop_after=1, **kw) is None
    assert not (tmp_path / "b" / "spectrum.pt").exists()         # stopped: checkpoint only
    train_mod.train("spectrum", str(ptbxl_dir), out_dir=tmp_path / "b", resume=True, **kw)
    a, b = (torch.load(tmp_path / d / "spectrum.pt", weights_only=False) for d in "ab")
    assert a["train"]["history"] == b["train"]["history"] and len(a["train"]["history"]) == 2
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
