"""An interrupted run resumed from its checkpoint ends with exactly the weights of an uninterrupted run;
checkpoints survive a save that fails or dies half-way; a resume under changed settings is refused."""
import os
import shutil

import pytest
import torch

from ssamba_lab.checkpoint import CheckpointError, is_checkpoint_dir, load_checkpoint, save_checkpoint
from ssamba_lab.train import FinetuneConfig, PretrainConfig, run_finetuning, run_pretraining
from ssamba_lab.train.loop import LoopConfig, Trainer
from ssamba_lab.train.run_log import RunLog
from ssamba_lab.train.schedules import LrSchedule, ScheduleConfig

from .conftest import TINY_MODEL


def _weights(run_dir):
    return load_checkpoint(run_dir / "last").state_dict


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_finetune_resume_is_bit_identical(tiny_corpus, tmp_path):
    # ks1 with its augmentations on (SpecAugment, noise, mixup, class-balanced sampling) so every RNG matters
    base = FinetuneConfig(task="ks1", model_overrides=TINY_MODEL, data_root=str(tiny_corpus),
                          manifest_dir=str(tmp_path / "manifests"),
                          recipe_overrides=dict(target_frames=32, batch_size=4, warmup_steps=2, freqm=8, timem=8),
                          max_steps=6, checkpoint_every_steps=3, log_every_steps=1, progress=False, seed=5)
    run_finetuning(base.replace(run_dir=str(tmp_path / "straight")))
    cut = run_finetuning(base.replace(run_dir=str(tmp_path / "cut"), stop_after_steps=4))
    assert cut.folds[0].steps == 4  # interrupted after step 4; the checkpoint is the one of step 3
    assert load_checkpoint(tmp_path / "cut" / "last").trainer_state["loop"]["step"] == 3
    run_finetuning(base.replace(run_dir=str(tmp_path / "cut")))  # resumes from cut/last (step 3)
    _assert_identical(_weights(tmp_path / "straight"), _weights(tmp_path / "cut"))
    other = run_finetuning(base.replace(run_dir=str(tmp_path / "seed6"), seed=6))
    assert not all(torch.equal(v, _weights(tmp_path / "straight")[k]) for k, v in _weights(other.run_dir).items())


@pytest.mark.slow
def test_pretrain_resume_is_bit_identical(tiny_corpus, tmp_path):
    base = PretrainConfig(model_overrides=TINY_MODEL, data_root=str(tiny_corpus),
                          manifest_dir=str(tmp_path / "manifests"), val_clips=4,
                          recipe_overrides=dict(target_frames=32, piece_seconds=0.5, batch_size=4, warmup_steps=2,
                                                eval_every_steps=2),
                          max_steps=6, checkpoint_every_steps=3, log_every_steps=1, progress=False, seed=1)
    run_pretraining(base.replace(run_dir=str(tmp_path / "straight")))
    run_pretraining(base.replace(run_dir=str(tmp_path / "cut"), stop_after_steps=4))
    assert load_checkpoint(tmp_path / "cut" / "last").trainer_state["loop"]["step"] == 3
    run_pretraining(base.replace(run_dir=str(tmp_path / "cut")))
    _assert_identical(_weights(tmp_path / "straight"), _weights(tmp_path / "cut"))


# ---- atomic checkpoints, and resuming after a save was interrupted ------------------------------------------
class _Crash(BaseException):
    """The process dying: nothing after it runs, no cleanup either (see _crash_at_second_rename)."""


def _crash_at_second_rename(m):
    """Patch ``os.replace`` (via ``ssamba_lab.checkpoint.os``) to die from its 2nd call on, i.e. between moving the
    old checkpoint aside and moving the new one into place, and ``shutil.rmtree`` to do nothing, as a kill would."""
    real = os.replace
    calls = []

    def replace(a, b):
        calls.append((a, b))
        if len(calls) >= 2:
            raise _Crash
        return real(a, b)

    m.setattr("ssamba_lab.checkpoint.os.replace", replace)
    m.setattr("ssamba_lab.checkpoint.shutil.rmtree", lambda *a, **k: None)


def _save(path, step):
    save_checkpoint(path, state_dict={"w": torch.full((2,), float(step))}, config={"kind": "encoder"},
                    trainer_state={"step": step})


def test_crash_between_renames_falls_back_to_a_complete_leftover(tmp_path, monkeypatch):
    last = tmp_path / "last"
    _save(last, 1)
    with monkeypatch.context() as m, pytest.raises(_Crash):
        _crash_at_second_rename(m)
        _save(last, 2)
    names = os.listdir(tmp_path)
    assert "last" not in names and len(names) == 2, names  # the old one moved aside + the new one, complete
    assert any(n.startswith(f".last.old-{os.getpid()}") for n in names) and any(n.startswith(".last.tmp-") for n in names)
    with pytest.warns(UserWarning, match="interrupted.*using .*tmp-"):
        assert is_checkpoint_dir(last)
    with pytest.warns(UserWarning, match="interrupted"):
        assert load_checkpoint(last).trainer_state == {"step": 2}  # the newest complete one
    new = next(tmp_path.glob(".last.tmp-*"))
    shutil.rmtree(new)
    new.mkdir()  # a save killed while writing: no config.json yet, never picked
    (new / "model.safetensors").write_bytes(b"partial")
    with pytest.warns(UserWarning, match="using .*old-"):
        assert load_checkpoint(last).trainer_state == {"step": 1}
    _save(last, 3)  # the next good save clears the leftovers
    assert os.listdir(tmp_path) == ["last"] and load_checkpoint(last).trainer_state == {"step": 3}


def test_failed_save_puts_the_old_checkpoint_back(tmp_path, monkeypatch):
    last = tmp_path / "last"
    _save(last, 1)
    real, calls = os.replace, []

    def replace(a, b):
        calls.append(b)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(a, b)

    monkeypatch.setattr("ssamba_lab.checkpoint.os.replace", replace)
    with pytest.raises(OSError, match="disk full"):
        _save(last, 2)
    assert len(calls) == 3  # aside, into place (failed), back
    assert os.listdir(tmp_path) == ["last"] and load_checkpoint(last).trainer_state == {"step": 1}


class _Batches:
    def __init__(self):
        self.x = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0))  # 4 batches of [2, 3]

    def num_batches(self):
        return len(self.x)

    def batches(self, *, epoch, start=0):
        return ({"x": b} for b in self.x[start:])


def _trainer(run_dir, *, lr=0.1, max_steps=2, evaluate=None, **loop):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return Trainer(model=model, optimizer=opt, schedule=LrSchedule(opt, ScheduleConfig()), train=_Batches(),
                   step_fn=lambda m, b: {"loss": m(b["x"]).pow(2).mean()}, evaluate=evaluate,
                   config=LoopConfig(max_steps=max_steps, checkpoint_every_steps=1, progress=False, **loop),
                   device=torch.device("cpu"), run_dir=run_dir, log=RunLog(run_dir, tensorboard=False),
                   checkpoint_config={"kind": "classifier", "finetune": {"lr": lr, "max_steps": max_steps,
                                                                         **loop}})


def _fit(trainer):
    steps = []
    state = trainer.fit(resume=True, callbacks=[lambda t, out: steps.append(t.state.step)])
    return state, steps


@pytest.mark.filterwarnings("ignore:resuming .* with a new length")
def test_resume_after_a_crash_between_renames(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _fit(_trainer(run, max_steps=2))
    with monkeypatch.context() as m, pytest.raises(_Crash):
        _crash_at_second_rename(m)
        _fit(_trainer(run, max_steps=3))  # resumes at 2, does step 3, dies saving it
    assert not (run / "last").exists()
    with pytest.warns(UserWarning, match="interrupted"):
        state, steps = _fit(_trainer(run, max_steps=3))
    assert steps == [] and state.step == 3  # continued from step 3's checkpoint, not from scratch
    assert load_checkpoint(run / "last").trainer_state["loop"]["step"] == 3


@pytest.mark.filterwarnings("ignore:resuming .* with a new length")
def test_resume_refuses_changed_settings_but_allows_a_longer_budget(tmp_path):
    run = tmp_path / "run"
    _fit(_trainer(run, lr=0.1, max_steps=2))
    with pytest.raises(CheckpointError, match=r"cannot resume .*last.*finetune\.lr: 0\.1 -> 0\.5") as e:
        _fit(_trainer(run, lr=0.5, max_steps=3))
    assert "max_steps" not in str(e.value).split("Only")[0]  # allowed changes are not listed as differences
    with pytest.raises(CheckpointError, match=r"finetune\.grad_clip: '\(absent\)' -> 1\.0"):
        _fit(_trainer(run, lr=0.1, max_steps=3, grad_clip=1.0))
    state, steps = _fit(_trainer(run, lr=0.1, max_steps=3, log_every_steps=1))  # longer, logged more often
    assert steps == [3] and state.step == 3


def test_finetune_rerun_with_another_lr_is_refused(tiny_corpus, tmp_path):
    base = FinetuneConfig(task="ks1", model_overrides=TINY_MODEL, data_root=str(tiny_corpus),
                          manifest_dir=str(tmp_path / "manifests"), run_dir=str(tmp_path / "run"),
                          recipe_overrides=dict(target_frames=32, batch_size=4), max_steps=2, progress=False)
    run_finetuning(base)
    with pytest.raises(CheckpointError, match=r"finetune\.recipe_overrides\.lr: '\(absent\)' -> 0\.5"):
        run_finetuning(base.replace(max_steps=3, recipe_overrides={**base.recipe_overrides, "lr": 0.5}))
    assert load_checkpoint(tmp_path / "run" / "last").trainer_state["loop"]["step"] == 2
    moved = shutil.copytree(tiny_corpus, tmp_path / "moved")  # the data elsewhere (a job restarted on another node)
    with pytest.warns(UserWarning, match="new length"):
        run_finetuning(base.replace(max_steps=3, data_root=str(moved)))
    assert load_checkpoint(tmp_path / "run" / "last").trainer_state["loop"]["step"] == 3


def test_rerunning_a_finished_run_changes_nothing(tmp_path):
    """The same command again: no new evaluation, no new log line, the same checkpoint state (an evaluation
    that ran again would also feed the plateau rule, which could stop a later, longer run early)."""
    from ssamba_lab.train.run_log import read_metrics

    run, evals = tmp_path / "run", []

    def evaluate(model):
        evals.append(1)
        return {"val": 0.0}

    _fit(_trainer(run, max_steps=2, evaluate=evaluate))  # no evaluation inside the run: the final one only
    assert len(evals) == 1
    state = load_checkpoint(run / "last").trainer_state["loop"]
    lines = read_metrics(run)
    for _ in range(2):
        _, steps = _fit(_trainer(run, max_steps=2, evaluate=evaluate))
        assert steps == [] and len(evals) == 1
    assert read_metrics(run) == lines and load_checkpoint(run / "last").trainer_state["loop"] == state
    with pytest.warns(UserWarning, match=r"new length .*max_steps: 2 -> 3.*from step 2 on"):
        _, steps = _fit(_trainer(run, max_steps=3, evaluate=evaluate))
    assert steps == [3] and len(evals) == 2


def test_a_run_stopped_before_its_first_checkpoint_starts_its_log_over(tmp_path):
    from ssamba_lab.train.run_log import read_metrics

    run = tmp_path / "run"
    cut = _trainer(run, max_steps=3, log_every_steps=1, stop_after_steps=1)
    cut.config = LoopConfig(max_steps=3, checkpoint_every_steps=0, progress=False, log_every_steps=1,
                            stop_after_steps=1)  # no checkpoint before the stop
    _fit(cut)
    assert not (run / "last").exists() and [r["step"] for r in read_metrics(run)] == [1]
    _fit(_trainer(run, max_steps=3, log_every_steps=1))
    assert [r["step"] for r in read_metrics(run) if r["kind"] == "train"] == [1, 2, 3]  # step 1 once


def test_tensorboard_forgets_the_lost_tail_on_resume(tmp_path):
    """metrics.jsonl is cut back to the checkpoint's step on resume; TensorBoard must show the same history, not
    both the lost tail and its replay."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = RunLog(tmp_path)
    for step in (1, 2, 3):
        log.log("train", step=step, epoch=0, loss=float(step))
    log.close()
    log = RunLog(tmp_path)  # the resumed run, from the checkpoint of step 1
    log.truncate_after(1)
    for step in (2, 3):
        log.log("train", step=step, epoch=0, loss=10.0 * step)
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(1, 1.0), (2, 20.0), (3, 30.0)]
