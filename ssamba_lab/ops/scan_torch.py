"""Pure-PyTorch selective scan: vectorised over the whole sequence, analytic backward.

The recurrence ``h_t = a_t * h_{t-1} + b_t`` is solved with a log2(L)-step doubling (Hillis-Steele) scan over
``[batch, channels, length, state]`` tensors: only products of decays in (0, 1] and sums, so it is as stable as
the sequential loop for any length (no exp(+cumsum) overflow that a cumulative-sum formulation suffers).
Autograd through the doubling steps would keep log2(L) copies of the state tensor alive, so the backward pass is
written by hand: a second (reverse) scan for the state adjoint, recomputing ``h`` instead of storing it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def linear_scan(a: torch.Tensor, b: torch.Tensor, *, reverse: bool = False) -> torch.Tensor:
    """Inclusive scan ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``) along dim -2.

    a, b: ``[..., length, state]``. With ``reverse`` the scan runs from the end: ``h_t = a_t * h_{t+1} + b_t``.
    Returns ``[..., length, state]``.
    """
    if reverse:
        return linear_scan(a.flip(-2), b.flip(-2)).flip(-2)
    length = a.shape[-2]
    a, h = a.clone(), b.clone()  # [..., l, n] each; rewritten in place below
    step = 1
    while step < length:
        # Combine each position with the partial result `step` positions earlier.
        h[..., step:, :] = torch.addcmul(h[..., step:, :], a[..., step:, :], h[..., :-step, :])  # [..., l-step, n]
        if step * 2 < length:  # the last round does not need the composed decays
            a[..., step:, :] = a[..., step:, :] * a[..., :-step, :]  # [..., l-step, n]
        step *= 2
    return h


def _discretize(u, delta, A, B, delta_bias, delta_softplus):
    """Shared forward prologue: returns (delta_raw_plus_bias, delta, dA, dBu) in float32."""
    pre = delta.float()
    if delta_bias is not None:
        pre = pre + delta_bias.float()[None, :, None]  # [b, e, l]
    dt = F.softplus(pre) if delta_softplus else pre  # [b, e, l]
    dA = torch.exp(dt.unsqueeze(-1) * A.float()[None, :, None, :])  # [b, e, l, n]
    dBu = (dt * u.float()).unsqueeze(-1) * B.float().transpose(1, 2).unsqueeze(1)  # [b, e, l, n]
    return pre, dt, dA, dBu


class _SelectiveScanFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, delta_softplus):
        with torch.no_grad():
            _, _, dA, dBu = _discretize(u, delta, A, B, delta_bias, delta_softplus)
            h = linear_scan(dA, dBu)  # [b, e, l, n]
            y = torch.einsum("beln,bnl->bel", h, C.float())  # [b, e, l]
            del h, dA, dBu
            if D is not None:
                y = y + u.float() * D.float()[None, :, None]  # [b, e, l]
            out = y * F.silu(z.float()) if z is not None else y  # [b, e, l]
        ctx.delta_softplus = delta_softplus
        ctx.has = (D is not None, z is not None, delta_bias is not None)
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias)
        return out.to(u.dtype)

    @staticmethod
    def backward(ctx, gout):
        u, delta, A, B, C, D, z, delta_bias = ctx.saved_tensors
        has_D, has_z, has_bias = ctx.has
        pre, dt, dA, dBu = _discretize(u, delta, A, B, delta_bias, ctx.delta_softplus)
        h = linear_scan(dA, dBu)  # [b, e, l, n], recomputed rather than stored
        Cf, uf = C.float(), u.float()
        gout = gout.float()
        y = torch.einsum("beln,bnl->bel", h, Cf)  # [b, e, l]
        if has_D:
            y = y + uf * D.float()[None, :, None]
        gz = None
        if has_z:
            zf = z.float()
            sig = torch.sigmoid(zf)
            gy = gout * zf * sig  # [b, e, l]  d/dy of y * silu(z)
            gz = (gout * y * (sig * (1 + zf * (1 - sig)))).to(z.dtype)  # [b, e, l]  silu'(z)
        else:
            gy = gout
        gu = gy * D.float()[None, :, None] if has_D else torch.zeros_like(uf)  # [b, e, l]
        gD = (gy * uf).sum((0, 2)).to(D.dtype) if has_D else None  # [e]
        gC = torch.einsum("beln,bel->bnl", h, gy).to(C.dtype)  # [b, n, l]
        # State adjoint: lam_t = C_t * gy_t + a_{t+1} * lam_{t+1}  (reverse scan with shifted decays).
        a_next = torch.cat([dA[:, :, 1:], torch.zeros_like(dA[:, :, :1])], dim=2)  # [b, e, l, n]
        lam = linear_scan(a_next, gy.unsqueeze(-1) * Cf.transpose(1, 2).unsqueeze(1), reverse=True)  # [b, e, l, n]
        h_prev = torch.cat([torch.zeros_like(h[:, :, :1]), h[:, :, :-1]], dim=2)  # [b, e, l, n]
        g_logdA = lam * h_prev * dA  # [b, e, l, n]  d/d(dt*A)
        del h, h_prev, a_next
        Bt = B.float().transpose(1, 2).unsqueeze(1)  # [b, 1, l, n]
        lam_B = (lam * Bt).sum(-1)  # [b, e, l]
        gdt = lam_B * uf + (g_logdA * A.float()[None, :, None, :]).sum(-1)  # [b, e, l]
        gu = gu + lam_B * dt  # [b, e, l]
        gB = torch.einsum("beln,bel->bnl", lam, dt * uf).to(B.dtype)  # [b, n, l]
        gA = torch.einsum("beln,bel->en", g_logdA, dt).to(A.dtype)  # [e, n]
        gpre = gdt * torch.sigmoid(pre) if ctx.delta_softplus else gdt  # [b, e, l]
        gbias = gpre.sum((0, 2)).to(delta_bias.dtype) if has_bias else None  # [e]
        return (gu.to(u.dtype), gpre.to(delta.dtype), gA, gB, gC, gD, gz, gbias, None)


def selective_scan_torch(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Selective scan in pure PyTorch (signature and semantics of ``mamba_ssm.selective_scan_fn``).

    u, delta, z: ``[batch, channels, length]``; A: ``[channels, state]``; B, C: ``[batch, state, length]``.
    Computes in float32, returns ``[batch, channels, length]`` in ``u``'s dtype.
    """
    return _SelectiveScanFn.apply(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
