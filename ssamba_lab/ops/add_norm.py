"""Residual add + LayerNorm as one differentiable op (the Triton backend's ``add_norm`` hook, ``backend.py``).

``add_layer_norm_triton(x, residual, weight, bias, eps, *, x_scale=None, out_dtype=None)`` returns
``(layer_norm(r), r)`` with ``r = residual + x_scale[sample] * x`` (just ``residual`` when ``x`` is None): the
pre-norm block boundary of a Mamba encoder, ``h <- h + drop_path(mixer(...))`` followed by the next block's norm,
in one kernel, and its backward in one more (kernels in ``triton_add_norm_kernels.py``, which says why).

Dtypes follow the unfused ops: ``r`` has ``torch.result_type(residual, x)`` (fp32 residual + bf16 branch under
autocast -> fp32) and is normalised as stored; the normalised rows have ``out_dtype`` (default ``r``'s dtype).
Under autocast a block passes the autocast dtype: ``in_proj`` would cast the fp32 LayerNorm output to it anyway,
with the same rounding, so the fused path gives the unfused path's numbers without the cast kernel.
``x_scale``: float32 ``[batch]`` (stochastic depth's ``mask / keep`` a sample), rows of ``residual`` being
``[batch, ...]``; no gradient flows to it. CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1`` (tests).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
import triton

from .triton_add_norm_kernels import add_norm_bwd_kernel, add_norm_fwd_kernel


def _block_d(d: int) -> int:
    return triton.next_power_of_2(d)


def _num_warps(block_d: int) -> int:
    return 4 if block_d <= 512 else 8


@functools.lru_cache(maxsize=None)
def _sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def _bwd_programs(m: int, device: torch.device) -> int:
    """Programs of the backward: a few per SM (each walks consecutive rows and keeps one partial dw / db)."""
    per_sm = 8
    sms = _sm_count(device.index if device.index is not None else torch.cuda.current_device()) if (
        device.type == "cuda") else 2
    return max(1, min(m, sms * per_sm))


def _rows(t: torch.Tensor, d: int) -> torch.Tensor:
    """``[..., d]`` -> a contiguous ``[M, d]`` view (a copy only for other layouts)."""
    return t.reshape(-1, d) if t.is_contiguous() else t.contiguous().reshape(-1, d)


def _fwd(x, res, scale, weight, bias, eps, out_dtype, res_dtype, rows_per_sample, store_stats):
    m, d = res.shape
    block_d = _block_d(d)
    rows = max(1, min(16, 2048 // block_d))
    out = torch.empty((m, d), dtype=out_dtype, device=res.device)
    res_out = torch.empty((m, d), dtype=res_dtype, device=res.device) if x is not None else res
    mean = torch.empty(m if store_stats else 1, dtype=torch.float32, device=res.device)
    rstd = torch.empty_like(mean)
    add_norm_fwd_kernel[(triton.cdiv(m, rows),)](
        x if x is not None else res, res, scale if scale is not None else mean, weight,
        bias if bias is not None else weight, out, res_out, mean, rstd, m, d, rows_per_sample, eps,
        ROWS=rows, BLOCK_D=block_d, HAS_X=x is not None, HAS_SCALE=scale is not None, HAS_BIAS=bias is not None,
        STORE_STATS=store_stats, num_warps=_num_warps(block_d))
    return out, res_out, mean, rstd


def _bwd(dy, dres_out, res, weight, bias, mean, rstd, scale, x_dtype, rows_per_sample):
    """-> (d residual, d x or None, d weight, d bias or None)."""
    m, d = res.shape
    block_d = _block_d(d)
    progs = _bwd_programs(m, res.device)
    per_prog = triton.cdiv(m, progs)
    progs = triton.cdiv(m, per_prog)
    dres = torch.empty((m, d), dtype=res.dtype, device=res.device)
    write_dx = x_dtype is not None and (x_dtype != res.dtype or scale is not None)
    dx = torch.empty((m, d), dtype=x_dtype, device=res.device) if write_dx else None
    dw = torch.empty((progs, block_d), dtype=torch.float32, device=res.device)
    db = torch.empty_like(dw) if bias is not None else dw
    dy = dy.contiguous()
    dres_out = dres_out.contiguous() if dres_out is not None else None
    add_norm_bwd_kernel[(progs,)](
        dy, dres_out if dres_out is not None else dy, res, weight, mean, rstd, scale if scale is not None else mean,
        dres, dx if dx is not None else dres, dw, db, m, d, rows_per_sample, per_prog,
        BLOCK_D=block_d, HAS_DRES=dres_out is not None, HAS_SCALE=scale is not None, WRITE_DX=write_dx,
        HAS_BIAS=bias is not None, num_warps=_num_warps(block_d))
    if x_dtype is not None and dx is None:
        dx = dres  # same dtype, no scale: the branch's gradient is the residual's
    gw = dw[:, :d].sum(0).to(weight.dtype)  # [d]
    gb = db[:, :d].sum(0).to(bias.dtype) if bias is not None else None
    return dres, dx, gw, gb


class _AddNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, residual, scale, weight, bias, eps, out_dtype, res_dtype, rows_per_sample, grad):
        out, res_out, mean, rstd = _fwd(x, residual, scale, weight, bias, eps, out_dtype, res_dtype,
                                        rows_per_sample, grad)
        ctx.save_for_backward(res_out, weight, bias, mean, rstd, scale)
        ctx.x_dtype, ctx.rows_per_sample = x.dtype, rows_per_sample
        ctx.set_materialize_grads(False)
        return out, res_out

    @staticmethod
    def backward(ctx, dout, dres_out):
        res_out, weight, bias, mean, rstd, scale = ctx.saved_tensors
        if dout is None:  # the normalised rows were not used (a rare caller): their gradient is zero
            dout = torch.zeros_like(res_out)
        dres, dx, gw, gb = _bwd(dout, dres_out, res_out, weight, bias, mean, rstd, scale, ctx.x_dtype,
                                ctx.rows_per_sample)
        return dx, dres, None, gw, gb, None, None, None, None, None


class _NormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, residual, weight, bias, eps, out_dtype, grad):
        out, _, mean, rstd = _fwd(None, residual, None, weight, bias, eps, out_dtype, residual.dtype, 1, grad)
        ctx.save_for_backward(residual, weight, bias, mean, rstd)
        return out

    @staticmethod
    def backward(ctx, dout):
        residual, weight, bias, mean, rstd = ctx.saved_tensors
        dres, _, gw, gb = _bwd(dout, None, residual, weight, bias, mean, rstd, None, None, 1)
        return dres, gw, gb, None, None, None


def add_layer_norm_triton(x: torch.Tensor | None, residual: torch.Tensor, weight: torch.Tensor,
                          bias: torch.Tensor | None, eps: float, *, x_scale: torch.Tensor | None = None,
                          out_dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """x (or None), residual: ``[batch, ..., D]``; weight, bias ``[D]``; x_scale ``[batch]`` -> (normalised
    ``[batch, ..., D]`` in ``out_dtype``, new residual ``[batch, ..., D]``)."""
    d = residual.shape[-1]
    assert weight.shape == (d,) and (bias is None or bias.shape == (d,)), (
        f"LayerNorm weight {tuple(weight.shape)} / bias {None if bias is None else tuple(bias.shape)} do not match "
        f"the rows' {d} features")
    shape = residual.shape
    res = _rows(residual, d)  # [M, D]
    # inside a Function, needs_input_grad ignores no_grad / inference_mode: decide here whether to keep statistics
    grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, residual, weight, bias))
    if x is None:
        assert x_scale is None, "x_scale scales x: it needs an x"
        out = _NormFn.apply(res, weight, bias, eps, out_dtype or residual.dtype, grad)  # [M, D]
        return out.view(shape), residual
    assert x.shape == shape, f"branch x {tuple(x.shape)} and residual {tuple(shape)} differ in shape"
    rows_per_sample = res.shape[0] // shape[0]
    if x_scale is not None:
        assert x_scale.shape == (shape[0],), f"x_scale {tuple(x_scale.shape)} must be [batch] = [{shape[0]}]"
        x_scale = x_scale.to(device=res.device, dtype=torch.float32).contiguous()
    res_dtype = torch.result_type(residual, x)
    out, res_out = _AddNormFn.apply(_rows(x, d), res, x_scale, weight, bias, eps, out_dtype or res_dtype,
                                    res_dtype, rows_per_sample, grad)  # [M, D] each
    return out.view(shape), res_out.view(shape)


def add_layer_norm_torch(x: torch.Tensor | None, residual: torch.Tensor, weight: torch.Tensor,
                         bias: torch.Tensor | None, eps: float, *, x_scale: torch.Tensor | None = None,
                         out_dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The same op unfused (an add, a LayerNorm, a cast): ``TritonScanConfig(fused_add_norm=False)`` runs it, so a
    benchmark can time the fused kernel against the ops it replaces in one process."""
    r = residual
    if x is not None:
        r = residual + (x if x_scale is None else x * x_scale.view(-1, *(1,) * (x.dim() - 1)))  # [b, ..., D]
    out = F.layer_norm(r, (r.shape[-1],), weight, bias, eps)
    return (out if out_dtype is None else out.to(out_dtype)), r
