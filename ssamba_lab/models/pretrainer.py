"""MaskedPretrainer: an encoder plus the masked-patch objectives (SSAMBA/SSAST joint, SSAM reconstruction).

Step names follow the algorithm (MAE style): ``patchify`` -> ``make_mask`` -> ``forward_encoder`` (mask
embedding substituted before positions) -> heads -> ``forward_loss``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

import torch
from einops import rearrange
from torch import nn

from .. import losses, masking
from ..config_checks import check_field_types, check_non_negative, check_positive
from .encoder import AudioEncoder
from .heads import prediction_head, reconstruction_head


@dataclass(frozen=True)
class ObjectiveConfig:
    """What is masked and what is predicted."""

    objective: Literal["joint", "reconstruction"] = "joint"  # SSAMBA/SSAST joint, or SSAM reconstruction
    mask_strategy: Literal["cluster", "random", "frame"] = "cluster"
    num_masked: int = 400  # patches per clip (SSAMBA: 250 / 300 / 400 of 512)
    cluster_sizes: tuple[int, ...] = (3, 4, 5)
    original_mask_quirks: bool = False
    lambda_g: float = 10.0  # L = L_d + lambda * L_g
    negatives: Literal["clip", "batch"] = "clip"
    two_pass: bool = True  # originals: independent masks for the two heads; False = one mask, both heads
    recon_masked_only: bool = False  # SSAM's released config covers all patches
    norm_target: bool = False

    def __post_init__(self):
        check_field_types(self)
        check_positive(self, "num_masked")
        check_non_negative(self, "lambda_g")
        assert self.objective in ("joint", "reconstruction"), f"objective must be 'joint' or 'reconstruction', got {self.objective!r}"
        assert self.mask_strategy in masking.MASKING_STRATEGIES, (
            f"mask_strategy {self.mask_strategy!r} not in {masking.MASKING_STRATEGIES}")
        assert self.negatives in ("clip", "batch"), f"negatives must be 'clip' or 'batch', got {self.negatives!r}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ObjectiveConfig":
        d = dict(d)
        if "cluster_sizes" in d:
            d["cluster_sizes"] = tuple(d["cluster_sizes"])
        known = {f.name for f in fields(cls)}
        assert set(d) <= known, f"unknown ObjectiveConfig fields {sorted(set(d) - known)}"
        return cls(**d)


class MaskedPretrainer(nn.Module):
    """Encoder + mask embedding + prediction heads. Attribute names match the released SSAMBA checkpoints
    (``mask_embed``, ``cpredlayer``, ``gpredlayer``; the encoder sits where the originals have ``v``)."""

    def __init__(self, *, encoder: AudioEncoder, objective: ObjectiveConfig = ObjectiveConfig()):
        super().__init__()
        c = encoder.config
        assert (c.fstride, c.tstride) == (c.patch_f, c.patch_t), (
            f"pretraining needs non-overlapping patches (stride == patch), got stride {(c.fstride, c.tstride)} "
            f"for patch {(c.patch_f, c.patch_t)}")
        self.encoder, self.objective = encoder, objective
        dim, pdim = c.embed_dim, c.patch_dim
        self.mask_embed = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.xavier_normal_(self.mask_embed)
        if objective.objective == "joint":
            self.cpredlayer = prediction_head(dim, pdim)
            self.gpredlayer = prediction_head(dim, pdim)
        else:
            self.decoder = reconstruction_head(dim, pdim)

    # ---- algorithm steps ---------------------------------------------------------------------------------
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``[batch, frames, bins]`` -> patches ``[batch, N, patch_f * patch_t]`` in token order."""
        c = self.encoder.config
        nf, nt = c.input_fdim // c.patch_f, x.shape[1] // c.patch_t
        x = x[:, : nt * c.patch_t]  # [b, T*pt, F*pf] drop frames that do not fill a patch (as the conv does)
        order = "(f t)" if c.token_order == "freq_major" else "(t f)"
        return rearrange(x, f"b (t pt) (f pf) -> b {order} (pf pt)", pt=c.patch_t, pf=c.patch_f, f=nf, t=nt)

    def unpatchify(self, patches: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Inverse of :meth:`patchify`: ``[batch, N, patch_dim]`` -> ``[batch, T*patch_t, F*patch_f]``."""
        c = self.encoder.config
        nf, nt = grid
        order = "(f t)" if c.token_order == "freq_major" else "(t f)"
        return rearrange(patches, f"b {order} (pf pt) -> b (t pt) (f pf)", pt=c.patch_t, pf=c.patch_f, f=nf, t=nt)

    def make_mask(self, batch: int, grid: tuple[int, int], *, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu", num_masked: int | None = None,
                  strategy: str | None = None) -> torch.Tensor:
        """``[batch, N]`` bool mask with exactly ``num_masked`` patches per clip."""
        o = self.objective
        kwargs = {}
        strategy = strategy or o.mask_strategy
        if strategy == "cluster":
            kwargs = dict(cluster_sizes=o.cluster_sizes, original_quirks=o.original_mask_quirks)
        return masking.make_mask(strategy, batch, grid, o.num_masked if num_masked is None else num_masked,
                                 token_order=self.encoder.config.token_order, generator=generator, device=device,
                                 **kwargs)

    def forward_encoder(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encode with masked patches replaced by ``mask_embed``; returns patch tokens ``[batch, N, D]``."""
        tokens = self.encoder(x, mask=mask, mask_token=self.mask_embed)  # [b, P + N, D]
        return tokens[:, self.encoder.num_prefix_tokens:]  # [b, N, D]

    @staticmethod
    def gather_masked(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Rows of ``t`` ``[batch, N, C]`` at masked positions -> ``[batch, M, C]`` (equal counts per clip)."""
        counts = mask.sum(1)
        assert bool((counts == counts[0]).all()), "every clip must have the same number of masked patches"
        return t[mask].view(t.shape[0], int(counts[0]), t.shape[-1])

    def forward_loss(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """x: normalised features ``[batch, frames, bins]``. Returns a dict with ``loss`` and its parts.

        Joint objective: ``loss = L_d + lambda * L_g`` with ``acc`` = InfoNCE accuracy (masked-patch accuracy);
        reconstruction objective: ``loss`` = MSE on patches.
        """
        o, b = self.objective, x.shape[0]
        target = self.patchify(x)  # [b, N, P]
        grid = self.encoder.grid_for(x.shape[1])
        if o.objective == "reconstruction":
            mask = self.make_mask(b, grid, generator=generator, device=x.device)  # [b, N]
            pred = self.decoder(self.forward_encoder(x, mask))  # [b, N, P]
            loss = losses.reconstruction_loss(pred, target, mask, masked_only=o.recon_masked_only,
                                              norm_target=o.norm_target)
            return {"loss": loss, "mse": loss.detach()}
        mask_d = self.make_mask(b, grid, generator=generator, device=x.device)  # [b, N]
        h = self.forward_encoder(x, mask_d)  # [b, N, D]
        pred_c = self.cpredlayer(self.gather_masked(h, mask_d))  # [b, M, P]
        loss_d, acc = losses.info_nce(pred_c, self.gather_masked(target, mask_d), negatives=o.negatives)
        if o.two_pass:
            mask_g = self.make_mask(b, grid, generator=generator, device=x.device)  # [b, N], independent mask
            h = self.forward_encoder(x, mask_g)  # [b, N, D]
        else:
            mask_g = mask_d
        pred_g = self.gpredlayer(self.gather_masked(h, mask_g))  # [b, M, P]
        loss_g = losses.masked_mse(pred_g, self.gather_masked(target, mask_g))
        loss = losses.joint_loss(loss_d, loss_g, o.lambda_g)
        return {"loss": loss, "nce": loss_d.detach(), "mse": loss_g.detach(), "acc": acc.detach()}

    def forward(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        return self.forward_loss(x, generator=generator)
