"""``--lr-search``: one learning-rate search for train-binary, train-oneclass and train-siamese.

The ranking is checked on made-up losses (analytic); each regime on tiny data: a rate of 5 loses to 1e-3,
the chosen rate is the one trained and stored in the model, and the search is the same under a seed.
Refused lists exit 2 with one line naming --lr-search and write nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from binary_helpers import invoke, one_error_line
from test_siamese import _tiny  # the same tiny identities
from lfkit.config import OneClassConfig, SiameseConfig, SynthConfig, TrainConfig
from lfkit.errors import DataError, ParameterError
from lfkit.lr_search import chosen_lr, parse_lr_search, search_lr
from lfkit.modelfile import read_raw


def test_parse_takes_one_or_more_rates():
    assert parse_lr_search("3e-4,1e-3, 3e-3") == (3e-4, 1e-3, 3e-3)
    assert parse_lr_search("0.01") == (0.01,)
    assert parse_lr_search(None) == () and parse_lr_search(" ") == ()
    assert parse_lr_search("10") == (10.0,)


@pytest.mark.parametrize("text,needle", [("1e-3,fast", "lr_search='1e-3,fast'"), ("1e-3,,3e-3", "lr_search="),
                                         ("0", "lr_search=0.0 must be in (0, 10]"), ("1e-3,-1", "lr_search=-1"),
                                         ("11", "lr_search=11.0"), ("nan", "lr_search=nan"), ("inf", "lr_search=inf")])
def test_parse_refuses_with_one_line_naming_the_option(text, needle):
    with pytest.raises(ParameterError) as exc:
        parse_lr_search(text)
    msg = str(exc.value)
    assert needle in msg and "--lr-search" in msg and "\n" not in msg


def test_every_regime_config_checks_the_search():
    for cls in (TrainConfig, OneClassConfig, SiameseConfig):
        assert cls().lr_search == () and cls(lr_search=[1e-3]).lr_search == (1e-3,)  # a JSON round trip's list
        with pytest.raises(ParameterError, match=r"lr_search=0\.0 must be in \(0, 10\]"):
            cls(lr_search=(1e-3, 0.0))
        with pytest.raises(ParameterError, match="lr_search_epochs"):
            cls(lr_search_epochs=0)
        assert cls.from_json(cls(lr_search=(3e-4, 1e-3)).to_json()).lr_search == (3e-4, 1e-3)


def test_ranking_lowest_loss_then_score_diverged_last():
    """Losses made up: ties on loss go to the higher score; a DataError (diverged) or NaN loss ranks last."""
    results = {1e-4: (0.5, 0.6), 1e-3: (0.5, 0.9), 1e-2: (0.7, 1.0), 1.0: DataError("diverged"),
               2.0: (float("nan"), 1.0)}

    def train_at(rate):
        r = results[rate]
        if isinstance(r, Exception):
            raise r
        return r

    notes = []
    tried = search_lr(train_at, list(results), notes.append)
    assert [t["rank"] for t in tried] == [1, 0, 2, 3, 4]
    assert chosen_lr(tried) == 1e-3
    assert tried[3]["val_loss"] is None and tried[3]["val_score"] is None
    assert notes[3] == "lr 1: validation loss diverged" and notes[1] == "lr 0.001: validation loss 0.5000"
    assert chosen_lr(search_lr(lambda r: (0.1, None), [3e-3])) == 3e-3  # one candidate is fine


@pytest.mark.parametrize("command", ["train-binary", "train-oneclass", "train-siamese"])
@pytest.mark.parametrize("value", ["1e-3,fast", "0", "1e-3,11", "nan"])
def test_every_train_command_refuses_a_bad_list_before_any_work(command, value, tmp_path):
    code, out, err = invoke(command, str(tmp_path / "nowhere"), "-o", str(tmp_path / "m.pt"), "--lr-search", value)
    line = one_error_line(err, command)
    assert code == 2 and "--lr-search" in line and "lr_search=" in line, line
    assert not (tmp_path / "m.pt").exists() and out == b""


def test_every_train_command_offers_the_option():
    for command in ("train-binary", "train-oneclass", "train-siamese"):
        code, out, _ = invoke(command, "--help")
        assert code == 0 and b"--lr-search" in out, command


# ----------------------------------------------------------------------------- binary


def test_binary_search_is_the_same_under_a_seed():
    from lfkit.models import create_model
    from lfkit.train import search_binary_lr, stratified_split

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 12)
    X = rng.normal(size=(24, 16, 8)).astype(np.float32)
    X[y == 1, 5] += 2.0
    cfg = TrainConfig(arch="lenet", epochs=2, batch_size=8, lr_search=(1e-3, 5.0), lr_search_epochs=1, seed=2)
    split = stratified_split(y, cfg.val_fraction, cfg.seed)
    a, b = (search_binary_lr(lambda: create_model("lenet", n_outputs=1), X, y, split, cfg) for _ in range(2))
    assert a == b and chosen_lr(a) == 1e-3
    other = search_binary_lr(lambda: create_model("lenet", n_outputs=1), X, y, split, cfg.replace(seed=3))
    assert [t["val_loss"] for t in other] != [t["val_loss"] for t in a]


# ----------------------------------------------------------------------------- one-class

ONECLASS_TINY = dict(epochs=2, n_surrogate=3, clips_per_class=8, batch_size=16, joint=False)


@pytest.fixture(scope="module")
def positives(tmp_path_factory):
    from lfkit.synth import synthesize

    d = tmp_path_factory.mktemp("lr_oneclass") / "pos"
    synthesize(str(d), SynthConfig(duration_s=0.5), snr="-10", seed=3, positive="120,340,777", n=10,
               positive_only=True)
    return d


def test_oneclass_search_picks_on_the_surrogate_classifier_and_stores_it(positives, tmp_path):
    notes = []
    cfg = OneClassConfig(lr_search=(1e-3, 5.0), lr_search_epochs=1, **ONECLASS_TINY)
    info = train_oneclass_(positives, tmp_path / "s.pt", cfg, notes.append)
    tried = {t["lr"]: t for t in info["lr_search"]}
    assert info["config"]["lr"] == 1e-3 and tried[1e-3]["rank"] == 0 and tried[5.0]["rank"] == 1
    assert tried[5.0]["val_loss"] is None or tried[5.0]["val_loss"] > tried[1e-3]["val_loss"]
    assert any("learning rate 0.001 chosen" in n for n in notes)
    doc = read_raw(tmp_path / "s.pt")["training"]
    assert doc["lr_search"] == info["lr_search"] and doc["config"]["lr"] == 1e-3
    train_oneclass_(positives, tmp_path / "p.pt", OneClassConfig(lr=1e-3, **ONECLASS_TINY))
    a, b = read_raw(tmp_path / "s.pt")["state_dict"], read_raw(tmp_path / "p.pt")["state_dict"]
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)  # the chosen rate is what trained


def train_oneclass_(data, out, cfg, notice=None):
    from lfkit.oneclass import train_oneclass

    return train_oneclass(str(data), str(out), cfg=cfg, notice=notice)


def test_oneclass_search_is_the_same_under_a_seed():
    from lfkit.models import create_model
    from lfkit.oneclass import search_extractor_lr

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 10)
    X = rng.normal(size=(30, 16, 8)).astype(np.float32)
    for c in range(3):
        X[y == c, 3 + 4 * c] += 2.0
    cfg = OneClassConfig(lr_search=(1e-3, 5.0), lr_search_epochs=1, batch_size=8, seed=4)
    a, b = (search_extractor_lr(lambda: create_model("lenet", n_outputs=3), X, y, 3, cfg) for _ in range(2))
    assert a == b and chosen_lr(a) == 1e-3


def test_oneclass_raw_extractor_refuses_a_search(positives, tmp_path):
    code, _, err = invoke("train-oneclass", str(positives), "-o", str(tmp_path / "m.pt"), "--extractor", "raw",
                          "--lr-search", "1e-3,3e-3")
    assert code == 2 and "extractor='raw' trains no network" in one_error_line(err, "train-oneclass")
    assert not (tmp_path / "m.pt").exists()


# ----------------------------------------------------------------------------- siamese


def test_siamese_validation_loss_is_the_training_loss_on_the_validation_clips():
    import torch

    from lfkit.siamese_train import contrastive_loss, triplet_loss, validation_loss

    E = np.array([[0.0, 0.0], [0.3, 0.4], [0.0, 2.0]], np.float32)
    y = np.array([0, 0, 1])
    cfg = SiameseConfig(margin=1.0)
    assert validation_loss(E, y, cfg) == pytest.approx(float(contrastive_loss(torch.tensor(E), torch.tensor(y), 1.0)))
    tcfg = SiameseConfig(loss="triplet", margin=0.5, mining="semihard")
    assert validation_loss(E, y, tcfg) == pytest.approx(
        float(triplet_loss(torch.tensor(E), torch.tensor(y), 0.5, "semihard")))
    assert validation_loss(np.zeros((0, 2), np.float32), y[:0], cfg) is None and validation_loss(E[:1], y[:1], cfg) is None


def test_siamese_search_is_the_same_under_a_seed():
    from lfkit.models import create_model
    from lfkit.siamese_train import search_siamese_lr

    X, labels = _tiny()
    cfg = SiameseConfig(epochs=2, batch_size=4, clips_per_class=3, val_fraction=0.5, lr_search=(1e-3, 5.0),
                        lr_search_epochs=1, seed=1)

    def build():
        import torch

        torch.manual_seed(cfg.seed)
        return create_model("sispeccnn", embedding_dim=16, normalize=True, hidden_channels=8, freq_bins=12)

    a, b = search_siamese_lr(build, X, labels, cfg), search_siamese_lr(build, X, labels, cfg)
    assert a == b and all(t["val_loss"] is not None for t in a)


def test_siamese_search_without_validation_identities_is_refused_before_training():
    from lfkit.siamese_train import search_siamese_lr

    X, labels = _tiny(n_classes=3, n=1)  # three identities of one clip each: no clip is left for validation
    cfg = SiameseConfig(epochs=2, batch_size=4, clips_per_class=1, val_fraction=0.2, lr_search=(1e-3,), seed=1)

    def build():
        raise AssertionError("a candidate trained before the missing validation split was noticed")

    with pytest.raises(ParameterError, match=r"lr_search needs a validation split \(val_fraction > 0\)"):
        search_siamese_lr(build, X, labels, cfg)


def test_siamese_search_picks_on_validation_identities_and_stores_it(tmp_path):
    from lfkit.siamese_train import train_siamese
    from lfkit.synth import synthesize

    data = tmp_path / "multi"
    synthesize(str(data), SynthConfig(duration_s=0.5), snr="-10", seed=0, classes=4, n=6)
    base = dict(epochs=2, lr_search_epochs=1, seed=1, joint=False)
    notes = []
    info = train_siamese(str(data), str(tmp_path / "s.pt"), SiameseConfig(lr_search=(5.0, 1e-3), **base),
                         notice=notes.append)
    tried = {t["lr"]: t for t in info["lr_search"]}
    assert info["config"]["lr"] == 1e-3 and tried[1e-3]["rank"] == 0
    assert tried[5.0]["val_loss"] > tried[1e-3]["val_loss"]
    assert any("learning rate 0.001 chosen" in n for n in notes)
    assert read_raw(tmp_path / "s.pt")["training"]["lr_search"] == info["lr_search"]
    train_siamese(str(data), str(tmp_path / "p.pt"), SiameseConfig(lr=1e-3, **base))
    a, b = read_raw(tmp_path / "s.pt")["state_dict"], read_raw(tmp_path / "p.pt")["state_dict"]
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
