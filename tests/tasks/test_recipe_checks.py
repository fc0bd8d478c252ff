"""A recipe override of the wrong type or sign fails in ``get_task`` with the field and the value."""
import pytest

from ssamba_lab.tasks import get_task, list_tasks


@pytest.mark.parametrize("override, message", [
    ({"noise": "False"}, "noise must be True or False, got 'False'"),
    ({"balanced_sampling": "true"}, "balanced_sampling must be True or False, got 'true'"),
    ({"lr": -1}, "lr must be > 0, got -1"),
    ({"lr": "1e-4"}, "lr must be a number, got '1e-4'"),
    ({"tstride": 0}, "tstride must be > 0, got 0"),
    ({"epochs": 0}, "epochs must be > 0, got 0"),
    ({"epochs": True}, "epochs must be an integer, got True"),
    ({"batch_size": -3}, "batch_size must be > 0, got -3"),
    ({"warmup_steps": -1}, "warmup_steps must be >= 0, got -1"),
    ({"weight_decay": -0.1}, "weight_decay must be >= 0, got -0.1"),
])
def test_bad_recipe_overrides_are_named(override, message):
    with pytest.raises(AssertionError, match=f"TaskRecipe.{message}"):
        get_task("ks1", **override)


def test_num_classes_positive_except_for_the_unlabeled_pool():
    with pytest.raises(AssertionError, match="ks1: num_classes must be > 0, got 0"):
        get_task("ks1", num_classes=0)
    assert get_task("pretrain").num_classes == 0


def test_every_registered_recipe_passes_its_checks():
    assert all(get_task(name).name == name for name in list_tasks())
