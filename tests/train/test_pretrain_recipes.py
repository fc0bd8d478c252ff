"""Pretraining recipes resolve to the papers' optimiser, schedule and objective (no data needed)."""
import pytest

from ssamba_lab.train.pretrain import PretrainConfig, build_pretrainer, objective_for, pretrain_recipe, schedule_config


def test_ssamba_recipe_joint_objective_plateau_and_early_stop():
    cfg = PretrainConfig(model="ssamba-tiny", model_overrides={"depth": 1, "embed_dim": 32},
                         recipe_overrides={"target_frames": 128})
    r = pretrain_recipe(cfg)
    assert (r.lr, r.weight_decay, tuple(r.betas), r.warmup_steps) == (1e-4, 5e-8, (0.95, 0.999), 1000)
    s = schedule_config(cfg, r, total_steps=10_000)
    assert s.plateau and (s.plateau_factor, s.plateau_patience, s.early_stop_evals) == (0.5, 2, 3)
    model = build_pretrainer(cfg, r)
    assert model.encoder.config.input_tdim == 128 and model.encoder.config.num_patches == 64
    o = model.objective
    assert (o.objective, o.mask_strategy, o.num_masked, o.two_pass) == ("joint", "cluster", 50, True)
    assert objective_for(cfg.replace(objective_overrides={"two_pass": False}), 512).num_masked == 400


def test_ssam_recipe_reconstruction_cosine_and_scaled_lr():
    cfg = PretrainConfig(model="ssam-tiny", recipe_overrides={"batch_size": 512})
    r = pretrain_recipe(cfg)
    assert r.lr == pytest.approx(3e-4) and tuple(r.betas) == (0.9, 0.95) and r.weight_decay == 0.05
    assert r.target_frames == 200
    s = schedule_config(cfg, r, total_steps=1000)
    assert (s.decay, s.warmup_steps, s.plateau) == ("cosine", 100, False)
    o = objective_for(cfg, 250)
    assert (o.objective, o.mask_strategy, o.num_masked, o.recon_masked_only) == ("reconstruction", "random", 125, False)
    with pytest.raises(AssertionError, match="recipe must be"):
        pretrain_recipe(cfg.replace(recipe="mae"))
