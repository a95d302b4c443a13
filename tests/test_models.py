"""Tests of lfkit.models: the registry contract, every architecture's shapes,
determinism, gradients and rebuild-from-file, the ConvLSTM cell, and a small
training run of Spec-CNN on synthetic tonal lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lfkit.errors import ParameterError
from lfkit.models import create_model, input_kind, model_names
from lfkit.models.base import max_pool_freq
from lfkit.models.recurrent import ConvLSTM, ConvLSTMCell

NAMES = model_names()
SPEC_SIZES = [(93, 40), (20, 5), (8, 4)]
WAVE_SIZES = [(4096,), (6000,)]


def _sizes(name):
    return SPEC_SIZES if input_kind(name) == "spectrogram" else WAVE_SIZES


def _input(name, batch=2, size=None, seed=0):
    size = size or _sizes(name)[0]
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, *size, generator=g)


def _first_weight(model):
    """The first layer's weight: the first registered convolution kernel."""
    return next(p for _, p in model.named_parameters() if p.ndim >= 3)


def test_registry_lists_every_architecture():
    assert set(NAMES) == {
        "speccnn", "basiccnn", "lenet", "alexnet", "vgg16", "resnet",
        "inception", "wave1d", "ocspeccnn", "sispeccnn",
    }
    assert isinstance(NAMES, tuple)
    assert input_kind("wave1d") == "waveform"
    assert {input_kind(n) for n in NAMES if n != "wave1d"} == {"spectrogram"}


@pytest.mark.parametrize("func", [create_model, input_kind])
def test_unknown_name_lists_known_names(func):
    with pytest.raises(ParameterError) as info:
        func("foo")
    msg = str(info.value)
    assert "arch='foo' is not known" in msg
    assert all(name in msg for name in NAMES)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"bogus": 1}, "bogus"),
        ({"n_outputs": 0}, "n_outputs"),
        ({"embedding_dim": -3}, "embedding_dim"),
        ({"channels": [16, 32]}, "channels"),
        ({"dropout": 1.5}, "dropout"),
        ({"hidden": {1, 2}}, "JSON"),
    ],
)
def test_bad_arguments_raise_parameter_error(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        create_model("speccnn", **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_bad_argument_names_are_reported_for_every_arch(name):
    with pytest.raises(ParameterError, match="not_an_argument"):
        create_model(name, not_an_argument=3)


@pytest.mark.parametrize("name", NAMES)
def test_output_and_embedding_shapes(name):
    torch.manual_seed(0)
    model = create_model(name, n_outputs=3, embedding_dim=24).eval()
    assert model.embedding_dim == 24
    assert model.input_kind == input_kind(name)
    with torch.no_grad():
        for size in _sizes(name):
            x = _input(name, batch=2, size=size)
            emb = model.embed(x)
            out = model(x)
            assert emb.shape == (2, 24)
            assert out.shape == (2, 3)
            assert torch.isfinite(out).all()
            assert torch.allclose(out, model.head(emb), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_default_output_is_one_logit(name):
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(_input(name, batch=1))
    assert out.shape == (1, 1)
    assert model.arch == name and model.arch_kwargs == {}


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_rank_raises(name):
    model = create_model(name)
    bad = torch.zeros(2, 3, 10) if input_kind(name) == "spectrogram" else torch.zeros(2, 1, 8, 4096)
    with pytest.raises(ParameterError, match="x.shape"):
        model(bad)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_model(name):
    x = _input(name)
    models = []
    for _ in range(2):
        torch.manual_seed(123)
        models.append(create_model(name).eval())
    a, b = (m.state_dict() for m in models)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with torch.no_grad():
        assert torch.equal(models[0](x), models[1](x))
    torch.manual_seed(124)
    other = create_model(name).state_dict()
    assert not torch.equal(a[next(iter(a))], other[next(iter(other))])


@pytest.mark.parametrize("name", NAMES)
def test_gradient_reaches_first_layer(name):
    torch.manual_seed(0)
    model = create_model(name, n_outputs=2).train()
    x = _input(name, batch=3, size=_sizes(name)[1])
    model(x).pow(2).sum().backward()
    grad = _first_weight(model).grad
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_rebuild_from_name_kwargs_and_weights(name):
    torch.manual_seed(5)
    kwargs = {"n_outputs": 2, "embedding_dim": 16}
    model = create_model(name, **kwargs).eval()
    buf = io.BytesIO()
    torch.save({"arch": model.arch, "kwargs": json.dumps(model.arch_kwargs), "state": model.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    torch.manual_seed(99)  # a different init, overwritten by the weights
    rebuilt = create_model(saved["arch"], **json.loads(saved["kwargs"]))
    rebuilt.load_state_dict(saved["state"])
    rebuilt.eval()
    x = _input(name, batch=2, seed=3)
    with torch.no_grad():
        assert torch.equal(model(x), rebuilt(x))
        assert torch.equal(model.embed(x), rebuilt.embed(x))


@settings(max_examples=15, deadline=None)
@given(n_freq=st.integers(8, 120), n_frames=st.integers(4, 80), batch=st.integers(1, 3))
def test_speccnn_accepts_any_size(n_freq, n_frames, batch):
    model = create_model("speccnn", n_outputs=2).eval()
    with torch.no_grad():
        out = model(torch.randn(batch, 1, n_freq, n_frames))
    assert out.shape == (batch, 2)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 30), k=st.integers(1, 5))
def test_max_pool_freq_matches_torch_pool(n, k):
    z = torch.randn(2, 3, n, 4)
    got = max_pool_freq(z, k)
    assert got.shape == (2, 3, -(-n // k), 4)
    if n >= k:
        assert torch.equal(got, nn.MaxPool2d((k, 1), ceil_mode=True)(z))


def test_speccnn_is_blind_to_input_level():
    model = create_model("speccnn").eval()
    x = _input("speccnn")
    with torch.no_grad():
        assert torch.allclose(model(x), model(10.0 * x + 3.0), atol=1e-4)


def test_sispeccnn_normalize_gives_unit_embeddings():
    model = create_model("sispeccnn", normalize=True, stem_channels=0).eval()
    with torch.no_grad():
        emb = model.embed(_input("sispeccnn", batch=3))
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)


def test_ocspeccnn_last_step_pooling():
    model = create_model("ocspeccnn", pooling="last").eval()
    with torch.no_grad():
        assert model(_input("ocspeccnn")).shape == (2, 1)
    with pytest.raises(ParameterError, match="pooling"):
        create_model("ocspeccnn", pooling="median")


@pytest.mark.parametrize("size", SPEC_SIZES)
def test_ocspeccnn_mean_branch_shapes_and_time_average(size):
    model = create_model("ocspeccnn", n_outputs=3, embedding_dim=24).eval()
    assert model.mean_proj is not None
    x = _input("ocspeccnn", batch=2, size=size)
    with torch.no_grad():
        assert model(x).shape == (2, 3)
        assert model.embed(x).shape == (2, 24)
        feats = model.mean_features(x)
        assert feats.shape == (2, model.mean_proj.out_features)
        # the branch sees only the time average: shuffling frames, or replacing
        # every frame by the average, leaves it unchanged
        perm = torch.randperm(size[1], generator=torch.Generator().manual_seed(1))
        assert torch.allclose(model.mean_features(x[..., perm]), feats, atol=1e-5)
        flat = x.mean(dim=-1, keepdim=True).expand_as(x)
        assert torch.allclose(model.mean_features(flat), feats, atol=1e-5)
        # and it is linear in that average
        bias = model.mean_proj.bias
        assert torch.allclose(model.mean_features(2 * x) - bias, 2 * (feats - bias), atol=1e-4)


def test_ocspeccnn_without_mean_branch():
    model = create_model("ocspeccnn", mean_branch=False).eval()
    assert model.mean_proj is None
    assert model.fc[0].in_features == model.lstm.hidden_size
    with torch.no_grad():
        assert model(_input("ocspeccnn")).shape == (2, 1)
    with pytest.raises(ParameterError, match="mean_branch"):
        create_model("ocspeccnn", mean_branch="yes")


# --- ConvLSTM -----------------------------------------------------------------


def test_convlstm_cell_shapes_and_zero_state():
    torch.manual_seed(0)
    cell = ConvLSTMCell(3, 5, kernel_size=(3, 5))
    x = torch.randn(2, 3, 7, 4)
    h, c = cell(x)
    assert h.shape == c.shape == (2, 5, 7, 4)
    h0, c0 = cell.init_state(x)
    assert torch.equal(h, cell(x, (h0, c0))[0])
    assert (h.abs() < 1).all()  # h = o * tanh(c)


def test_convlstm_cell_matches_the_equations():
    torch.manual_seed(1)
    cell = ConvLSTMCell(2, 3, kernel_size=1)
    x, h, c = torch.randn(1, 2, 4, 4), torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    gates = cell.conv(torch.cat([x, h], 1))
    i, f, o, g = gates[:, 0:3], gates[:, 3:6], gates[:, 6:9], gates[:, 9:12]
    c_want = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new, c_new = cell(x, (h, c))
    assert torch.allclose(c_new, c_want, atol=1e-6)
    assert torch.allclose(h_new, torch.sigmoid(o) * torch.tanh(c_want), atol=1e-6)


def test_convlstm_cell_carries_state():
    torch.manual_seed(2)
    cell = ConvLSTMCell(1, 4, 3)
    x1, x2 = torch.randn(2, 1, 6, 6), torch.randn(2, 1, 6, 6)
    carried = cell(x2, cell(x1))[0]
    fresh = cell(x2)[0]
    assert not torch.allclose(carried, fresh)


def test_convlstm_last_output_depends_on_earlier_steps():
    torch.manual_seed(3)
    net = ConvLSTM(2, 4, kernel_size=3, num_layers=2)
    x = torch.randn(2, 5, 2, 6, 3)
    out, states = net(x)
    assert out.shape == (2, 5, 4, 6, 3)
    assert len(states) == 2 and states[-1][0].shape == (2, 4, 6, 3)
    assert torch.equal(out[:, -1], states[-1][0])
    y = x.clone()
    y[:, 0] += 1.0  # perturb only the first step
    out2, _ = net(y)
    assert not torch.allclose(out[:, -1], out2[:, -1])


def test_convlstm_gradient_reaches_first_step():
    torch.manual_seed(4)
    net = ConvLSTM(1, 3, kernel_size=3)
    x = torch.randn(1, 6, 1, 5, 4, requires_grad=True)
    out, _ = net(x)
    out[:, -1].sum().backward()
    assert x.grad[:, 0].abs().sum() > 0


def test_convlstm_rejects_even_kernel():
    with pytest.raises(ParameterError, match="kernel_size"):
        ConvLSTMCell(1, 2, kernel_size=4)


# --- training sanity and import hygiene ---------------------------------------


def test_speccnn_learns_a_buried_tonal_line():
    rng = np.random.default_rng(0)

    def make(n, n_freq=32, n_frames=24, row=11):
        x = rng.standard_normal((n, 1, n_freq, n_frames)).astype(np.float32)
        y = np.arange(n) % 2
        x[y == 1, 0, row, :] += 1.0  # a 1-bin line at 1 noise std, constant over time
        return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))

    n = 100
    xt, yt = make(n)
    torch.manual_seed(0)
    model = create_model("speccnn")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(15):
        for idx in torch.randperm(n).split(20):
            opt.zero_grad()
            loss_fn(model(xt[idx])[:, 0], yt[idx]).backward()
            opt.step()
    model.eval()
    x_new, y_new = make(200)
    with torch.no_grad():
        train_acc = ((model(xt)[:, 0] > 0).float() == yt).float().mean().item()
        new_acc = ((model(x_new)[:, 0] > 0).float() == y_new).float().mean().item()
    assert train_acc > 0.9
    assert new_acc > 0.85  # it learnt the line, not the noise


def test_importing_lfkit_models_does_not_import_torch():
    code = (
        "import sys, lfkit.models as m; "
        "assert m.model_names() and m.input_kind('speccnn') == 'spectrogram'; "
        "print('torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
