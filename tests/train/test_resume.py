"""An interrupted run resumed from its checkpoint ends with exactly the weights of an uninterrupted run."""
import pytest
import torch

from ssamba_lab.checkpoint import load_checkpoint
from ssamba_lab.train import FinetuneConfig, PretrainConfig, run_finetuning, run_pretraining

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
