"""Backend parity: run one model with two scan backends and compare outputs and every parameter gradient."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ParityResult:
    backend: str
    reference: str
    forward_rel_err: float
    max_grad_rel_err: float
    worst_grad: str
    n_params_checked: int

    def passes(self, tol: float) -> bool:
        return self.forward_rel_err < tol and self.max_grad_rel_err < tol


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """``max |a - b| / max |b|`` (the scale of the whole tensor, so near-zero entries do not dominate)."""
    return ((a.float() - b.float()).abs().max() / b.float().abs().max().clamp(min=1e-12)).item()


def _run(model, x: torch.Tensor, gout: torch.Tensor, backend: str):
    model.set_scan_backend(backend)
    model.zero_grad(set_to_none=True)
    out = model(x)  # [b, tokens, D]
    out.backward(gout)
    return out.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def backend_parity(model, x: torch.Tensor, backends: list[str], *, reference: str = "torch",
                   seed: int = 0) -> list[ParityResult]:
    """Compare ``backends`` against ``reference`` on ``model(x)`` with a fixed random output gradient."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    with torch.no_grad():
        shape = model(x).shape
    gout = torch.randn(shape, generator=gen, device=x.device)  # [b, tokens, D]
    ref_out, ref_grads = _run(model, x, gout, reference)
    results = []
    for backend in backends:
        out, grads = _run(model, x, gout, backend)
        assert grads.keys() == ref_grads.keys(), f"{backend}: gradients reach different parameters"
        errs = {n: rel_err(grads[n], ref_grads[n]) for n in ref_grads}
        worst = max(errs, key=errs.get)
        results.append(ParityResult(backend, reference, rel_err(out, ref_out), errs[worst], worst, len(errs)))
    model.set_scan_backend(None)
    return results
