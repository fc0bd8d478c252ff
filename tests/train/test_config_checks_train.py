"""Fine-tuning / pretraining configs and their command line: wrong values fail early and name the field."""
import pytest

from ssamba_lab import cli
from ssamba_lab.train.finetune import FinetuneConfig
from ssamba_lab.train.overrides import parse_overrides
from ssamba_lab.train.pretrain import PretrainConfig
from ssamba_lab.train.schedules import ScheduleConfig


@pytest.mark.parametrize("cls", [FinetuneConfig, PretrainConfig])
@pytest.mark.parametrize("override, message", [
    ({"resume": "False"}, "resume must be True or False, got 'False'"),
    ({"progress": 1}, "progress must be True or False, got 1"),
    ({"max_steps": -1}, r"max_steps must be >= 0 \(0: the recipe's epochs\), got -1"),  # trained 0 steps
    ({"max_steps": "10"}, "max_steps must be an integer, got '10'"),
    ({"grad_clip": -1.0}, "grad_clip must be >= 0, got -1.0"),
    ({"log_every_steps": 0}, "log_every_steps must be > 0, got 0"),
])
def test_run_configs_refuse_bad_values(cls, override, message):
    with pytest.raises(AssertionError, match=f"{cls.__name__}.{message}"):
        cls(**override)


@pytest.mark.parametrize("override, message", [
    ({"train_clips": -3}, r"train_clips must be >= 0 \(0: all\), got -3"),
    ({"head_lr_mult": 0.0}, "head_lr_mult must be > 0, got 0.0"),
])
def test_finetune_config_specific_fields(override, message):
    with pytest.raises(AssertionError, match=f"FinetuneConfig.{message}"):
        FinetuneConfig(**override)


def test_zero_and_none_keep_their_meaning():
    c = FinetuneConfig(max_steps=0, train_clips=0, head_lr_mult=None)
    assert (c.max_steps, c.train_clips, c.head_lr_mult) == (0, 0, None)
    assert PretrainConfig(max_steps=0, val_clips=0).val_clips == 0


def test_device_error_names_the_field():
    with pytest.raises(ValueError, match="FinetuneConfig.device='gpu' is not a device"):
        FinetuneConfig(device="gpu")


def test_schedule_config_refuses_string_booleans():
    with pytest.raises(AssertionError, match="ScheduleConfig.plateau must be True or False, got 'False'"):
        ScheduleConfig(plateau="False")


@pytest.mark.parametrize("text, value", [("true", True), ("FALSE", False), ("False", False), ("True", True)])
def test_overrides_read_true_false_in_any_case(text, value):
    assert parse_overrides([f"bidirectional={text}"]) == {"bidirectional": value}


@pytest.mark.parametrize("command", ["finetune", "pretrain"])
@pytest.mark.parametrize("option", ["--model-override", "--recipe-override"])
def test_malformed_override_is_a_usage_error(command, option, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, option, "depth"])
    assert exit_.value.code == 2
    assert f"argument {option}: override 'depth' is not key=value" in capsys.readouterr().err


def test_objective_override_is_parsed_by_argparse(capsys):
    from ssamba_lab.train.cli_args import pretrain_config_from_args, pretrain_parser

    args = pretrain_parser().parse_args(["--model-override", "bidirectional=false", "depth=2",
                                         "--objective-override", "two_pass=FALSE"])
    config = pretrain_config_from_args(args)
    assert config.model_overrides == {"bidirectional": False, "depth": 2}
    assert config.objective_overrides == {"two_pass": False}
    with pytest.raises(SystemExit):
        pretrain_parser().parse_args(["--objective-override", "=3"])
    assert "override '=3' is not key=value" in capsys.readouterr().err
