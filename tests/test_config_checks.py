"""Every config dataclass refuses wrong types by field name (``ssamba_lab.config_checks``): a string "False" in a
bool field, a bool or string in an int field, a string in a float field; and a device torch does not know."""
from dataclasses import fields

import pytest

from ssamba_lab.config_checks import _kind
from ssamba_lab.embed.frontend import Frontend
from ssamba_lab.eval.probe import ProbeConfig
from ssamba_lab.explore.reconstruction import MaskChoice
from ssamba_lab.features import FbankStats
from ssamba_lab.models import EncoderConfig, ObjectiveConfig
from ssamba_lab.profiling.config import MeasureConfig, ProfilePoint
from ssamba_lab.profiling.sweep import SweepConfig
from ssamba_lab.tasks import TaskRecipe, get_task
from ssamba_lab.train.finetune import FinetuneConfig
from ssamba_lab.train.pretrain import PretrainConfig
from ssamba_lab.train.schedules import ScheduleConfig

# class -> a factory taking field overrides (filling the class's required fields)
FACTORIES = {
    EncoderConfig: EncoderConfig,
    ObjectiveConfig: ObjectiveConfig,
    TaskRecipe: lambda **kw: get_task("ks1", **kw),
    FinetuneConfig: FinetuneConfig,
    PretrainConfig: PretrainConfig,
    ScheduleConfig: ScheduleConfig,
    ProbeConfig: ProbeConfig,
    ProfilePoint: lambda **kw: ProfilePoint(**{"model": "ssamba-tiny", "tokens": 8, **kw}),
    MeasureConfig: MeasureConfig,
    SweepConfig: SweepConfig,
    MaskChoice: MaskChoice,
    Frontend: lambda **kw: Frontend(**{"kind": "fbank", **kw}),
    FbankStats: lambda **kw: FbankStats(**{"mean": 0.0, "std": 1.0, **kw}),
}
BAD = {"bool": ["False", 0, None], "int": [True, "3", 2.5], "float": ["1e-4", False]}
CASES = [pytest.param(cls, f.name, value, id=f"{cls.__name__}.{f.name}={value!r}")
         for cls in FACTORIES for f in fields(cls) for value in BAD.get(_kind(f.type)[0], [])]


def test_every_config_has_typed_fields_to_check():
    checked = {c.values[0] for c in CASES}
    assert checked == set(FACTORIES), f"configs without bool/int/float fields: {set(FACTORIES) - checked}"


@pytest.mark.parametrize("cls, name, value", CASES)
def test_wrong_type_is_refused_naming_the_field(cls, name, value):
    with pytest.raises(AssertionError, match=rf"{cls.__name__}\.{name} must be"):
        FACTORIES[cls](**{name: value})


def test_right_types_pass():
    assert EncoderConfig(bidirectional=False, dt_rank=None, mlp_ratio=4, drop_path=0).bidirectional is False
    assert get_task("ks1", noise=False, lr=1, epochs=2).noise is False  # an int is a fine float
    assert ObjectiveConfig.from_dict({"two_pass": False}).two_pass is False
    import numpy as np

    assert EncoderConfig(depth=np.int64(2)).depth == 2  # numpy integers are integers


@pytest.mark.parametrize("cls", [FinetuneConfig, PretrainConfig, MeasureConfig, ProbeConfig])
def test_unknown_device_names_the_field(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.device='gpu' is not a device"):
        cls(device="gpu")
    assert cls(device="cpu").device == "cpu"


def test_probe_device_has_no_auto():
    with pytest.raises(ValueError, match="ProbeConfig.device='auto'"):
        ProbeConfig(device="auto")
    assert FinetuneConfig(device="auto").device == "auto"
