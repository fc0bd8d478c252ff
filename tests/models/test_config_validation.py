"""Bad encoder / objective settings fail at construction with the field and the value, not deep in a layer."""
import pytest

from ssamba_lab.models import ObjectiveConfig, build_model, get_config

TINY = {"depth": 1, "embed_dim": 32, "input_tdim": 32}


@pytest.mark.parametrize("name, override, message", [
    ("ssamba-tiny", {"embed_dim": 0}, "embed_dim must be > 0, got 0"),  # was "groups must be a positive integer"
    ("ssamba-tiny", {"embed_dim": -8}, "embed_dim must be > 0, got -8"),
    ("ssamba-tiny", {"tstride": 0}, "tstride must be > 0, got 0"),  # was a ZeroDivisionError
    ("ssast-tiny", {"num_heads": 0}, "num_heads must be > 0, got 0"),
    ("ssamba-tiny", {"depth": -1}, "depth must be > 0, got -1"),
    ("ssamba-tiny", {"expand": 0}, "expand must be > 0, got 0"),
    ("ssamba-tiny", {"patch_t": 0}, "patch_t must be > 0, got 0"),
    ("ssamba-tiny", {"d_state": 0}, "d_state must be > 0, got 0"),
    ("ssamba-tiny", {"d_conv": 0}, "d_conv must be > 0, got 0"),
    ("ssamba-tiny", {"dt_rank": 0}, "dt_rank must be > 0, got 0"),  # None is "automatic", 0 is not
    ("ssast-tiny", {"mlp_ratio": 0}, "mlp_ratio must be > 0, got 0"),
    ("ssamba-tiny", {"drop_path": 2.0}, r"drop_path is a probability in \[0, 1\), got 2.0"),
    ("ssamba-tiny", {"bidirectional": "false"}, "bidirectional must be True or False, got 'false'"),
])
def test_bad_sizes_and_flags_are_named(name, override, message):
    with pytest.raises(AssertionError, match=f"EncoderConfig.{message}"):
        get_config(name, **override)
    with pytest.raises(AssertionError, match=f"EncoderConfig.{message}"):
        build_model(name, **{**TINY, **override})


def test_automatic_dt_rank_and_unidirectional_still_build():
    assert get_config("ssamba-tiny", dt_rank=None).resolved_dt_rank == 12
    model = build_model("ssamba-tiny", bidirectional=False, dt_rank=3, **TINY)
    assert model.config.bidirectional is False and model.config.resolved_dt_rank == 3


@pytest.mark.parametrize("override, message", [
    ({"two_pass": "false"}, "two_pass must be True or False, got 'false'"),
    ({"num_masked": 0}, "num_masked must be > 0, got 0"),
    ({"num_masked": "400"}, "num_masked must be an integer, got '400'"),
    ({"lambda_g": -1.0}, "lambda_g must be >= 0, got -1.0"),
])
def test_objective_config_refuses_bad_values(override, message):
    with pytest.raises(AssertionError, match=f"ObjectiveConfig.{message}"):
        ObjectiveConfig.from_dict(override)
