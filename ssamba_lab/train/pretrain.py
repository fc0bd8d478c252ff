"""Self-supervised pretraining on the unlabeled pool: SSAMBA/SSAST's joint objective or SSAM's reconstruction.

SSAMBA recipe (the ``pretrain`` task, SSAMBA_FACTS sections 5-7): AdamW lr 1e-4, wd 5e-8, betas (0.95, 0.999),
linear warm-up, ReduceLROnPlateau(x0.5, patience 2) on validation masked-patch accuracy every
``eval_every_steps``, early stop after 3 evaluations without improvement, cluster masking of 400/512 patches.
SSAM recipe: AdamW (0.9, 0.95), wd 0.05, lr 1.5e-4 x batch/256, warm-up over the first 10% of steps then
cosine, random masking of half the patches, reconstruction of all patches, 80-bin log-mel input.

    python -m ssamba_lab.train.pretrain --data-root data/demo --run-dir runs/pretrain \\
        --model ssamba-tiny --model-override depth=4 --recipe-override target_frames=128 piece_seconds=1.28
    torchrun --nproc-per-node 2 -m ssamba_lab.train.pretrain ...   (DDP; one GPU per rank on CUDA)
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch

from ssamba_lab.config_checks import check_device, check_field_types, check_non_negative, check_positive
from ssamba_lab.models import MaskedPretrainer, ObjectiveConfig, build_encoder, get_config
from ssamba_lab.tasks import TaskRecipe, get_task

from . import distributed as D
from .data import eval_loader, first_n, split_dataset, train_source
from .loop import LoopConfig, Trainer, TrainerState, to_device
from .rng import seed_everything
from .run_log import RunLog
from .schedules import LrSchedule, ScheduleConfig

Recipe = Literal["auto", "ssamba", "ssam"]


@dataclass(frozen=True)
class PretrainConfig:
    """One pretraining run. ``recipe_overrides`` are fields of the ``pretrain`` :class:`TaskRecipe`
    (``lr``, ``batch_size``, ``epochs``, ``warmup_steps``, ``eval_every_steps``, ``target_frames``,
    ``piece_seconds``, ...); ``model_overrides`` fields of :class:`EncoderConfig` (``depth``, ...);
    ``objective_overrides`` fields of :class:`ObjectiveConfig` (``num_masked``, ``two_pass``, ...)."""

    model: str = "ssamba-tiny"
    recipe: Recipe = "auto"  # auto: 'ssam' for ssam-* models, else 'ssamba'
    model_overrides: dict = field(default_factory=dict)
    recipe_overrides: dict = field(default_factory=dict)
    objective_overrides: dict = field(default_factory=dict)
    data_root: str = "data/demo"
    run_dir: str = "runs/pretrain"
    manifest_dir: str | None = None  # None: the data package's cache
    feature_cache: str | None = None  # folder for cached fbanks (None: computed every time)
    device: str = "auto"
    precision: str = "auto"  # bf16 autocast on CUDA, fp32 on CPU
    max_steps: int = 0  # 0 = the recipe's epochs
    grad_clip: float = 1.0  # not in the papers; keeps early Mamba steps stable
    val_clips: int = 256  # validation subset (0 = the whole split)
    num_workers: int = 0
    seed: int = 0
    log_every_steps: int = 10
    checkpoint_every_steps: int = 0  # 0 = at every evaluation
    progress: bool = True
    resume: bool = True  # continue <run_dir>/last when it exists
    stop_after_steps: int = 0  # tests: end as an interruption would

    def __post_init__(self):
        check_field_types(self)
        assert self.max_steps >= 0, f"PretrainConfig.max_steps must be >= 0 (0: the recipe's epochs), got {self.max_steps}"
        assert self.val_clips >= 0, f"PretrainConfig.val_clips must be >= 0 (0: the whole split), got {self.val_clips}"
        check_positive(self, "log_every_steps")
        check_non_negative(self, "grad_clip", "num_workers", "checkpoint_every_steps", "stop_after_steps")
        check_device(self)

    def replace(self, **changes) -> "PretrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def resolved_recipe_name(config: PretrainConfig) -> str:
    if config.recipe != "auto":
        assert config.recipe in ("ssamba", "ssam"), f"recipe must be auto|ssamba|ssam, got {config.recipe!r}"
        return config.recipe
    return "ssam" if config.model.startswith("ssam-") else "ssamba"


def pretrain_recipe(config: PretrainConfig) -> TaskRecipe:
    """The ``pretrain`` task's recipe for this run (SSAM's optimiser values when ``recipe`` is ssam)."""
    if resolved_recipe_name(config) == "ssamba":
        return get_task("pretrain", **config.recipe_overrides)
    batch = config.recipe_overrides.get("batch_size", 1024)
    ssam = dict(lr=1.5e-4 * batch / 256, betas=(0.9, 0.95), weight_decay=0.05, batch_size=batch, epochs=100,
                target_frames=200, early_stop_evals=0, warmup_steps=0,  # (fbank stats unused by log-mel)
                notes="SSAM: warm-up over the first 10% of steps, then cosine; 80-bin log-mel, per-clip norm.")
    return get_task("pretrain", **{**ssam, **config.recipe_overrides})


def objective_for(config: PretrainConfig, num_patches: int) -> ObjectiveConfig:
    """SSAMBA: joint, cluster masking of 400/512 of the grid; SSAM: reconstruction, random half the patches."""
    if resolved_recipe_name(config) == "ssamba":
        base = dict(objective="joint", mask_strategy="cluster", num_masked=round(num_patches * 400 / 512))
    else:
        base = dict(objective="reconstruction", mask_strategy="random", num_masked=num_patches // 2,
                    recon_masked_only=False)
    return ObjectiveConfig.from_dict({**base, **config.objective_overrides})


def build_pretrainer(config: PretrainConfig, recipe: TaskRecipe) -> MaskedPretrainer:
    """Encoder (input length = the recipe's crop) + mask embedding + heads."""
    enc_cfg = get_config(config.model, **{"input_tdim": recipe.target_frames, **config.model_overrides})
    assert enc_cfg.input_tdim == recipe.target_frames, (
        f"the encoder's input_tdim ({enc_cfg.input_tdim}) must equal the pretraining crop target_frames "
        f"({recipe.target_frames})")
    return MaskedPretrainer(encoder=build_encoder(enc_cfg), objective=objective_for(config, enc_cfg.num_patches))


def schedule_config(config: PretrainConfig, recipe: TaskRecipe, total_steps: int) -> ScheduleConfig:
    if resolved_recipe_name(config) == "ssam":
        warmup = recipe.warmup_steps or max(1, round(0.1 * total_steps))
        return ScheduleConfig(warmup_steps=warmup, decay="cosine", total_steps=max(total_steps, warmup + 1))
    return ScheduleConfig(warmup_steps=recipe.warmup_steps, plateau=True, plateau_factor=recipe.plateau_factor,
                          plateau_patience=recipe.plateau_patience, early_stop_evals=recipe.early_stop_evals)


def make_evaluate(loader, *, seed: int, objective: str) -> Callable:
    """Validation: mean losses and masked-patch accuracy with masks drawn from a fixed seed (comparable
    across evaluations). Joint objective -> ``val_acc`` (selection); reconstruction -> ``val_neg_mse``."""

    def evaluate(model: MaskedPretrainer) -> dict:
        device = next(model.parameters()).device
        g = torch.Generator().manual_seed(seed)
        sums: dict[str, float] = {}
        n = 0
        for batch in loader:
            x = to_device(batch, device)["fbank"]  # [b, T, F]
            out = model.forward_loss(x, generator=g)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v) * x.shape[0]
            n += x.shape[0]
        assert n > 0, "the validation split is empty"
        m = {f"val_{k}": v / n for k, v in sums.items()}
        if objective == "reconstruction":
            m["val_neg_mse"] = -m["val_mse"]
        return m

    return evaluate


def checkpoint_config(config: PretrainConfig, recipe: TaskRecipe, model: MaskedPretrainer) -> dict:
    return {"kind": "pretrainer", "model_name": config.model, "encoder": model.encoder.config.to_dict(),
            "objective": model.objective.to_dict(), "pretrain": config.to_dict(),
            "recipe": {k: v for k, v in asdict(recipe).items() if k not in ("stats",)},
            "stats": asdict(recipe.stats) if recipe.stats is not None else None}


@dataclass
class PretrainResult:
    run_dir: Path
    checkpoint: Path  # best (selection metric) if evaluated, else last
    state: TrainerState
    history: list[dict]


def run_pretraining(config: PretrainConfig, *, callbacks: list = (), log_callbacks: list = ()) -> PretrainResult:
    """Pretrain; returns where the checkpoints are. ``log_callbacks`` receive every metric record (live plots)."""
    info = D.init_distributed(config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    device = D.resolve_device(config.device, info)
    seed_everything(config.seed + info.rank)  # ranks draw different masks / augmentations
    recipe = pretrain_recipe(config)
    model = build_pretrainer(config, recipe).to(device)
    frontend = model.encoder.config.frontend
    train_ds = split_dataset(recipe, split="train", data_root=config.data_root, manifest_dir=config.manifest_dir,
                             frontend=frontend, cache_dir=config.feature_cache)
    val_ds = first_n(split_dataset(recipe, split="validation", data_root=config.data_root,
                                   manifest_dir=config.manifest_dir, frontend=frontend,
                                   cache_dir=config.feature_cache), config.val_clips)
    per_rank_batch = recipe.batch_size // info.world_size
    assert per_rank_batch * info.world_size == recipe.batch_size, (
        f"batch_size {recipe.batch_size} is the global batch; it must divide by the {info.world_size} ranks")
    source = train_source(train_ds, recipe=recipe, batch_size=per_rank_batch, seed=config.seed, dist=info,
                          num_workers=config.num_workers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                                  betas=tuple(recipe.betas))
    loop = LoopConfig(epochs=recipe.epochs, max_steps=config.max_steps, eval_every_steps=recipe.eval_every_steps,
                      checkpoint_every_steps=config.checkpoint_every_steps, log_every_steps=config.log_every_steps,
                      grad_clip=config.grad_clip, precision=config.precision,
                      select_metric="val_acc" if model.objective.objective == "joint" else "val_neg_mse",
                      progress=config.progress, stop_after_steps=config.stop_after_steps)
    total = min(recipe.epochs * source.num_batches(), config.max_steps or 10**12)
    schedule = LrSchedule(optimizer, schedule_config(config, recipe, total))
    log = RunLog(config.run_dir, enabled=info.is_main, callbacks=list(log_callbacks))
    trainer = Trainer(model=model, optimizer=optimizer, schedule=schedule, train=source,
                      step_fn=lambda m, batch: m(batch["fbank"]),
                      # the whole batch, not a rank's: masks are drawn a batch at a time, so the validation
                      # score (and the best checkpoint) must not depend on the number of processes
                      evaluate=make_evaluate(eval_loader(val_ds, batch_size=recipe.batch_size), seed=config.seed,
                                             objective=model.objective.objective),
                      config=loop, device=device, run_dir=config.run_dir,
                      checkpoint_config=checkpoint_config(config, recipe, model), log=log, seed=config.seed)
    state = trainer.fit(resume=config.resume, callbacks=list(callbacks))
    log.close()
    run_dir = Path(config.run_dir)
    best = run_dir / "best"
    return PretrainResult(run_dir=run_dir, checkpoint=best if best.is_dir() else run_dir / "last", state=state,
                          history=log.records)


def main(argv: list[str] | None = None) -> int:
    from .cli_args import pretrain_parser, pretrain_config_from_args

    args = pretrain_parser().parse_args(argv)
    config = pretrain_config_from_args(args)
    with D.shutdown_on_exit():
        result = run_pretraining(config)
        if D.current().is_main:
            print(f"pretraining done at step {result.state.step}; checkpoint: {result.checkpoint}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
