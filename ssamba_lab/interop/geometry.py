"""Input geometry of released checkpoints: reading it off the tensors, and carrying weights to a new one.

Pretraining checkpoints store their input dims (``p_input_fdim``/``p_input_tdim``) and use stride == patch.
Fine-tuned ones store neither: the strides and input length are recovered from the position-table length,
trying the strides of the published recipes (10, then non-overlapping) and their input lengths.
"""
from __future__ import annotations

import logging

import torch
from torch import nn

from ..checkpoint import CheckpointError, load_state_strict
from ..models import EncoderConfig, adapt_pos_embed, build_encoder, grid_size

log = logging.getLogger(__name__)

FBANK_BINS = 128
# Input lengths of the published recipes (SSAMBA_FACTS section 1), tried first when a length must be guessed.
RECIPE_FRAMES = (1024, 512, 128, 6144, 1000)
GEOMETRY_FIELDS = ("input_fdim", "input_tdim", "fstride", "tstride")


def infer_input_dims(state: dict[str, torch.Tensor], n_patches: int, *, patch: tuple[int, int], source: str,
                     fstride: int | None = None, tstride: int | None = None,
                     input_tdim: int | None = None) -> tuple[int, int, int, int]:
    """``(input_fdim, input_tdim, fstride, tstride)`` whose patch grid has ``n_patches`` cells.

    ``fstride``/``tstride``/``input_tdim`` are hints for fine-tuned checkpoints (what they were trained with);
    pretraining checkpoints carry their own dims and ignore them.
    """
    pf, pt = patch
    if "p_input_fdim" in state and "p_input_tdim" in state:
        fdim, tdim = int(state["p_input_fdim"].item()), int(state["p_input_tdim"].item())
        nf, nt = grid_size(fdim, tdim, pf, pt, pf, pt)
        if nf * nt != n_patches:
            raise CheckpointError(f"{source}: p_input dims {fdim}x{tdim} give {nf}x{nt} patches but the position "
                                  f"table has {n_patches}")
        return fdim, tdim, pf, pt
    f_cands = [fstride] if fstride else [10, pf]
    for fs in dict.fromkeys(f_cands):
        ts = tstride or (fs if fs != pf or pt == pf else pt)
        nf = grid_size(FBANK_BINS, pt, pf, pt, fs, ts)[0]
        if n_patches % nf:
            continue
        nt = n_patches // nf
        lengths = [input_tdim] if input_tdim else [t for t in RECIPE_FRAMES if grid_size(FBANK_BINS, t, pf, pt, fs, ts)[1] == nt]
        tdim = lengths[0] if lengths else (nt - 1) * ts + pt
        if grid_size(FBANK_BINS, tdim, pf, pt, fs, ts)[1] != nt:
            continue
        log.info("%s: no p_input dims (a fine-tuned checkpoint); inferred stride %dx%d, %d frames", source, fs, ts, tdim)
        return FBANK_BINS, tdim, fs, ts
    raise CheckpointError(f"{source}: cannot infer the input geometry of a {n_patches}-patch position table; pass "
                          f"fstride=, tstride= and input_tdim= as the checkpoint was fine-tuned with")


def with_geometry(encoder: nn.Module, **overrides) -> nn.Module:
    """A copy of ``encoder`` for other input dims / strides (fine-tuning from a pretrained one): same weights,
    position table adapted with SSAST's recipe (centre crop or bilinear, time first). Only the fields in
    ``GEOMETRY_FIELDS`` may change."""
    bad = set(overrides) - set(GEOMETRY_FIELDS)
    assert not bad, f"only the geometry fields {GEOMETRY_FIELDS} can be changed on a loaded encoder, got {sorted(bad)}"
    old: EncoderConfig = encoder.config
    new_cfg = old.replace(**overrides)
    if new_cfg == old:
        return encoder
    state = encoder.state_dict()
    if old.pos_embed == "learned":
        state["pos_embed"] = adapt_pos_embed(state["pos_embed"], old.grid, new_cfg.grid,
                                             num_prefix_tokens=old.num_prefix_tokens, token_order=old.token_order)
    new = build_encoder(new_cfg)
    load_state_strict(new, state, source=f"encoder adapted to {overrides}")
    return new.train(encoder.training)
