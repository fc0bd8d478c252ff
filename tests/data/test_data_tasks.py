import dataclasses

import pytest

from ssamba_lab.tasks import TaskRecipe, get_task, list_tasks

FACTS = {  # SSAMBA_FACTS section 7: (classes, metric, lr, epochs, batch, frames, stride, freqm, timem, mixup, noise, loss)
    "as": (527, "mAP", 1e-4, 50, 24, 1024, 10, 48, 192, 0.5, False, "bce"),
    "esc": (50, "accuracy", 1e-4, 50, 48, 512, 10, 24, 96, 0.0, True, "ce"),
    "ks2": (35, "accuracy", 2.5e-4, 30, 128, 128, 10, 48, 48, 0.6, True, "bce"),
    "ks1": (12, "accuracy", 2.5e-4, 30, 128, 128, 10, 48, 48, 0.6, True, "bce"),
    "dasl": (10, "per_second_mAP", 1e-4, 50, 5, 6144, 16, 48, 192, 0.0, False, "ce"),
}


def test_registry_lists_the_seven_tasks_and_pretraining():
    assert list_tasks() == ["as", "esc", "ks1", "ks2", "sid", "er", "dasl", "pretrain"]
    assert "pretrain" not in list_tasks(include_pretrain=False)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_recipes_match_the_published_table(name):
    r = get_task(name)
    got = (r.num_classes, r.metric, r.lr, r.epochs, r.batch_size, r.target_frames, r.tstride, r.freqm, r.timem,
           r.mixup, r.noise, r.loss)
    assert got == FACTS[name]


def test_protocol_fields():
    assert get_task("as").head_lr_mult == 3.0 and get_task("as").multilabel
    assert get_task("esc").folds == (1, 2, 3, 4, 5) and get_task("esc").validation == "next_fold"
    assert get_task("dasl").folds == tuple(range(1, 11)) and get_task("dasl").sequence_seconds == 60
    er = get_task("er")
    assert er.cv_protocol == "leave_one_session_out" and er.num_classes == 4 and "lr" in er.unpublished
    assert get_task("sid").num_classes == 1251
    p = get_task("pretrain")
    assert (p.weight_decay, p.betas, p.warmup_steps, p.eval_every_steps, p.early_stop_evals) == (5e-8, (0.95, 0.999), 1000, 4000, 3)
    assert get_task("ks1").published_results["ssamba-tiny"] == 94.0


def test_overrides_and_errors():
    r = get_task("ks1", epochs=2, batch_size=8)
    assert (r.epochs, r.batch_size) == (2, 8) and get_task("ks1").epochs == 30
    with pytest.raises(ValueError, match="valid tasks: as, esc, ks1, ks2, sid, er, dasl"):
        get_task("ks3")
    with pytest.raises(ValueError, match="unknown recipe field"):
        get_task("ks1", epoch=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.epochs = 4  # type: ignore[misc]
    with pytest.raises(AssertionError, match="multi-label"):
        get_task("as", loss="ce")
    assert isinstance(r, TaskRecipe)
