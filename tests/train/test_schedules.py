import pytest
import torch

from ssamba_lab.train.schedules import LrSchedule, PlateauScale, ScheduleConfig


def _optimizer(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_plateau_scale_matches_torch_reduce_lr_on_plateau():
    values = [0.1, 0.2, 0.2, 0.19, 0.2, 0.25, 0.25, 0.24, 0.23, 0.22, 0.3, 0.3, 0.3, 0.3]
    opt = _optimizer()
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2)
    ours = PlateauScale(factor=0.5, patience=2, threshold=1e-4, early_stop_evals=0)
    for v in values:
        ref.step(v)
        ours.observe(v)
        assert ours.scale == pytest.approx(opt.param_groups[0]["lr"])
    assert ours.scale < 1.0  # the sequence does trigger reductions


def test_early_stop_after_three_evaluations_without_improvement():
    p = PlateauScale(factor=0.5, patience=2, threshold=1e-4, early_stop_evals=3)
    assert [p.observe(v) for v in (0.5, 0.6, 0.55, 0.6, 0.59)] == [False, False, False, False, True]


def test_warmup_then_multistep_decay_like_the_originals():
    # ks recipe: warm-up, x0.85 per epoch from epoch 5 = MultiStepLR(range(5, 1000, 1)) stepped per epoch
    opt = _optimizer(2.0)
    s = LrSchedule(opt, ScheduleConfig(warmup_steps=4, decay="step", decay_start=5, decay_every=1, decay_factor=0.85))
    assert [s.factor(step, 0) for step in range(5)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    ref_opt = _optimizer(1.0)
    ref = torch.optim.lr_scheduler.MultiStepLR(ref_opt, milestones=list(range(5, 1000, 1)), gamma=0.85)
    for epoch in range(9):
        assert s.factor(100, epoch) == pytest.approx(ref_opt.param_groups[0]["lr"]), epoch
        ref_opt.step()
        ref.step()
    s.apply(100, 6)
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * 0.85**2)


def test_cosine_reaches_min_and_state_round_trips():
    opt = _optimizer()
    s = LrSchedule(opt, ScheduleConfig(warmup_steps=2, decay="cosine", total_steps=12, min_lr_ratio=0.1,
                                       plateau=True, plateau_patience=0))
    assert s.factor(1, 0) == pytest.approx(1.0) and s.factor(12, 0) == pytest.approx(0.1)
    s.observe(1.0)
    s.observe(0.5)  # patience 0: halves
    state = s.state_dict()
    s2 = LrSchedule(_optimizer(), s.config)
    s2.load_state_dict(state)
    assert s2.factor(7, 0) == pytest.approx(s.factor(7, 0)) and s2.plateau.scale == 0.5
