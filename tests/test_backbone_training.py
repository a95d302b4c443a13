"""Deep backbones: per-clip GroupNorm, Kaiming initialisation, a learning-rate warm-up; model files load unchanged."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lfkit.config import FrontendConfig, TrainConfig  # noqa: E402
from lfkit.errors import ParameterError  # noqa: E402
from lfkit.modelfile import build_network, load_model, save_model  # noqa: E402
from lfkit.models import create_model  # noqa: E402
from lfkit.train_loop import warmup_scheduler  # noqa: E402

DEEP = ("vgg16", "alexnet", "resnet", "inception")


@pytest.mark.parametrize("arch", DEEP)
def test_deep_networks_normalise_each_clip_on_its_own(arch):
    """GroupNorm after the convolutions: a clip's logit is the same alone or in any batch, in training mode too."""
    torch.manual_seed(0)
    net = create_model(arch)
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in net.modules()) >= 5
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    x = torch.randn(4, 1, 32, 16)
    x[1:] *= 10.0  # louder neighbours
    net.train()
    with torch.no_grad():
        together = net(x)
        alone = net(x[:1])
    assert torch.allclose(together[:1], alone, atol=1e-5)


def test_inception_keeps_torchs_default_initialisation():
    torch.manual_seed(0)
    convs = [m for m in create_model("inception").modules() if isinstance(m, torch.nn.Conv2d)]
    conv = next(m for m in convs if m.weight.numel() >= 2000)
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    # kaiming_uniform_(a=sqrt(5)): std = 1 / sqrt(3 fan_in)
    assert float(conv.weight.detach().std()) == pytest.approx((1.0 / (3 * fan_in)) ** 0.5, rel=0.15)


@pytest.mark.parametrize("arch", ("vgg16", "alexnet", "resnet"))
def test_convolutions_start_from_kaiming_fan_out(arch):
    torch.manual_seed(0)
    net = create_model(arch)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.numel() >= 2000]
    assert convs
    for m in convs:
        fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        # Kaiming normal, ReLU gain: std = sqrt(2 / fan_out); torch's default would be sqrt(1 / (3 fan_in)).
        assert float(m.weight.detach().std()) == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.15)
        assert m.bias is None or float(m.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize("arch", ("alexnet",))
def test_a_model_file_rebuilds_with_its_weights_not_the_initialisation(tmp_path, arch):
    torch.manual_seed(0)
    old = create_model(arch, n_outputs=1).eval()
    with torch.no_grad():  # weights unlike any Kaiming draw, as a file written before would hold
        for prm in old.parameters():
            prm.mul_(0.5).add_(0.01)
    path = tmp_path / "old.pt"
    save_model(path, "binary", FrontendConfig(), {"kind": "spectrogram", "sr": 8000, "n_samples": 8000,
                                                  "shape": [32, 16]},
               arch=arch, arch_kwargs={"n_outputs": 1}, state_dict=old.state_dict(), classes=["rest", "positive"],
               positive="positive", threshold=0.5, training={})
    net = build_network(load_model(path))
    x = torch.randn(3, 1, 32, 16)
    with torch.inference_mode():
        assert torch.allclose(net(x), old(x))


def test_warmup_rises_linearly_then_holds():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.3)
    sched = warmup_scheduler(opt, 3)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.2, 0.3, 0.3, 0.3])
    assert warmup_scheduler(opt, 0) is None


@pytest.mark.parametrize("bad", [-1, float("nan"), "1"])
def test_warmup_epochs_refused_when_not_a_number_in_range(bad):
    with pytest.raises(ParameterError, match="warmup_epochs"):
        TrainConfig(warmup_epochs=bad)


def test_train_binary_stores_the_warmup(tmp_path):
    from lfkit.train import train_binary

    rng = np.random.default_rng(0)
    d = tmp_path / "d"
    d.mkdir()
    rows = ["path,label"]
    for i in range(12):
        S = rng.standard_normal((32, 16)).astype(np.float32)
        if i % 2:
            S[10] += 3.0
        np.save(d / f"c{i}.npy", S)
        rows.append(f"c{i}.npy,{'positive' if i % 2 else 'other'}")
    (d / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "m.pt"
    summary = train_binary(str(d), str(out), cfg=TrainConfig(arch="alexnet", epochs=1, batch_size=4),
                           augment=None)
    doc = load_model(out)
    assert summary["config"]["warmup_epochs"] == 1.0
    assert doc["training"]["config"]["warmup_epochs"] == 1.0
