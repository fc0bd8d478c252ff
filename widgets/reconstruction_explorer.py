"""ReconstructionExplorer: pick a clip, a checkpoint and a mask; see and hear what the pretrainer fills in.

Everything is plain ipywidgets + one plotly ``FigureWidget`` (2 x 2 heatmaps with shared axes, so zooming one
zooms all), and all callbacks are ordinary methods: tests drive the explorer by setting widget values and
calling ``button.click()``, no browser needed.

Speed: a control change costs one encoder forward pass (cached per (checkpoint, clip, strategy, count, seed))
plus the figure update; mel-inversion audio is synthesised on demand (button, or ``auto_audio``) because
Griffin-Lim costs more than the rest together.
"""
from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Mapping
from pathlib import Path

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ssamba_lab.explore import (
    Clip,
    MaskChoice,
    ReconstructionCache,
    ReconstructionResult,
    build_pretrainer_from_checkpoint,
    checkpoint_stats,
    load_clip,
    reconstruct,
    wav_bytes,
    with_audio,
)
from ssamba_lab.features import FbankStats
from ssamba_lab.masking import MASKING_STRATEGIES
from ssamba_lab.models import MaskedPretrainer

PANELS = ("original", "masked input", "reconstruction", "patch error (masked)")
SUMMARY_CLASS = "ssamba-explorer-summary"


def _digest(a: np.ndarray) -> str:
    """Short content hash of an array (lets a browser test see that the reconstruction changed)."""
    return hashlib.sha1(np.ascontiguousarray(a, dtype=np.float32).tobytes()).hexdigest()[:12]


def _json_safe(a: np.ndarray) -> np.ndarray:
    """NaN and +-inf -> None (JSON null, a gap in plotly): the widget protocol sends 2-D arrays as JSON, where
    they are invalid and make the browser drop the whole update."""
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out


def _load_pretrainer(source: str | Path | MaskedPretrainer) -> MaskedPretrainer:
    if isinstance(source, MaskedPretrainer):
        return source.eval()
    return build_pretrainer_from_checkpoint(source)


def _stamp(source: str | Path | MaskedPretrainer) -> int | None:
    """When a checkpoint on disk was last written (None for a module): training rewrites ``last`` / ``best`` in
    place, and a changed stamp makes the explorer load it again."""
    if isinstance(source, MaskedPretrainer):
        return None
    path = Path(source)
    marker = path / "config.json" if path.is_dir() else path  # written last by save_checkpoint
    return marker.stat().st_mtime_ns if marker.exists() else None


class ReconstructionExplorer:
    """Interactive masked-reconstruction explorer.

    clips: name -> audio file path or :class:`Clip` (features already normalised for the checkpoints' frontend).
    checkpoints: name -> checkpoint directory or a :class:`MaskedPretrainer` (loaded lazily, then kept until the
    checkpoint on disk is rewritten).
    frames: crop/pad length for clips given as files (short clips keep re-renders fast on a CPU).
    stats: fbank normalisation for clips given as files; None = each checkpoint's recorded stats
    (``config.json``), else the AudioSet / pretraining stats.
    """

    def __init__(self, *, clips: Mapping[str, str | Path | Clip], checkpoints: Mapping[str, str | Path | MaskedPretrainer],
                 frames: int | None = 256, stats: FbankStats | None = None, strategy: str = "cluster",
                 ratio: float = 0.5, seed: int = 0, audio_iters: int = 16, auto_audio: bool = False,
                 torch_threads: int | None = 1, cache_size: int = 128):
        assert clips, "give at least one clip"
        assert checkpoints, "give at least one checkpoint"
        assert strategy in MASKING_STRATEGIES, f"strategy {strategy!r} not in {MASKING_STRATEGIES}"
        if torch_threads is not None:
            # Small matmuls on a shared CPU: extra intra-op threads mostly spin and wait (10x slower under load).
            torch.set_num_threads(torch_threads)
        self._clip_sources, self._ckpt_sources = dict(clips), dict(checkpoints)
        self.frames, self.stats, self.audio_iters = frames, stats, audio_iters
        self.cache = ReconstructionCache(cache_size)
        self._pretrainers: dict[str, tuple[int | None, MaskedPretrainer]] = {}  # name -> (stamp, pretrainer)
        self._clips: dict[tuple, Clip] = {}
        self._syncing = False
        self._stale = False  # the last change failed: result (on screen) is an earlier view
        self._axes_key: tuple | None = None
        self.result: ReconstructionResult | None = None
        self.last_render_s = float("nan")
        self.renders = 0

        self.clip = W.Dropdown(options=list(clips), description="clip")
        self.checkpoint = W.Dropdown(options=list(checkpoints), description="checkpoint")
        self.strategy = W.ToggleButtons(options=list(MASKING_STRATEGIES), value=strategy, description="masking")
        self.count = W.IntSlider(min=0, max=1, value=0, description="masked", continuous_update=False)
        self.ratio = W.FloatSlider(min=0.0, max=1.0, step=0.01, value=ratio, description="ratio",
                                   continuous_update=False, readout_format=".2f")
        self.seed = W.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.new_seed = W.Button(description="new seed", icon="random")
        self.auto_audio = W.Checkbox(value=auto_audio, description="audio on every change", indent=False)
        self.listen = W.Button(description="synthesise audio", icon="volume-up")
        self.audio_original = W.Audio(value=b"", format="wav", autoplay=False, loop=False)
        self.audio_reconstruction = W.Audio(value=b"", format="wav", autoplay=False, loop=False)
        self.audio_status = W.HTML("audio: press <i>synthesise audio</i>")
        self.summary = W.HTML()
        self.figure = self._make_figure()
        self.profile = self._make_profile()
        for w, name in [(self.clip, "clip"), (self.checkpoint, "checkpoint"), (self.strategy, "strategy"),
                        (self.count, "count"), (self.ratio, "ratio"), (self.seed, "seed"),
                        (self.new_seed, "new-seed"), (self.listen, "listen")]:
            w.add_class(f"ssamba-{name}")

        for w in (self.clip, self.checkpoint, self.strategy, self.seed):
            w.observe(self._on_change, names="value")
        self.count.observe(self._on_count, names="value")
        self.ratio.observe(self._on_ratio, names="value")
        self.new_seed.on_click(lambda _: setattr(self.seed, "value", (self.seed.value + 1) % 2**31))
        self.listen.on_click(lambda _: self._safe_listen())
        self.auto_audio.observe(lambda change: change["new"] and self._safe_listen(), names="value")  # this view too

        players = W.HBox([W.VBox([W.Label("original (mel inversion)"), self.audio_original]),
                          W.VBox([W.Label("reconstruction (mel inversion)"), self.audio_reconstruction])])
        self.ui = W.VBox([
            W.HBox([self.clip, self.checkpoint]), self.strategy, W.HBox([self.count, self.ratio]),
            W.HBox([self.seed, self.new_seed]), self.summary, self.figure, self.profile,
            W.HBox([self.listen, self.auto_audio, self.audio_status]), players,
        ])
        self.ui.add_class("ssamba-reconstruction-explorer")
        # a first clip or checkpoint that cannot be read is shown in the widget, as when it is picked later
        self._on_change({"owner": self.clip})

    # ---- loading (lazy, cached) ----------------------------------------------------------------------------
    @property
    def pretrainer(self) -> MaskedPretrainer:
        name = self.checkpoint.value
        source = self._ckpt_sources[name]
        stamp = _stamp(source)
        if name not in self._pretrainers or self._pretrainers[name][0] != stamp:
            self._pretrainers[name] = (stamp, _load_pretrainer(source))
        return self._pretrainers[name][1]

    @property
    def feature_stats(self) -> FbankStats | None:
        """Normalisation for file clips under the current checkpoint (None: the frontend's default)."""
        if self.stats is not None:
            return self.stats
        source = self._ckpt_sources[self.checkpoint.value]
        return None if isinstance(source, MaskedPretrainer) else checkpoint_stats(source)

    @property
    def current_clip(self) -> Clip:
        config = self.pretrainer.encoder.config
        name, stats = self.clip.value, self.feature_stats
        key = (name, config.frontend, config.input_fdim, config.input_tdim, stats)  # input_tdim: frames=None
        if key not in self._clips:
            src = self._clip_sources[name]
            if isinstance(src, Clip):
                self._clips[key] = src
            else:
                self._clips[key] = load_clip(src, config=config, frames=self.frames, stats=stats, name=name)
        return self._clips[key]

    @property
    def num_patches(self) -> int:
        nf, nt = self.pretrainer.encoder.grid_for(self.current_clip.features.shape[0])
        return nf * nt

    @property
    def mask_choice(self) -> MaskChoice:
        return MaskChoice(strategy=self.strategy.value, num_masked=self.count.value, seed=self.seed.value)

    # ---- callbacks -----------------------------------------------------------------------------------------
    def _sync_count_range(self, *, ratio: float) -> None:
        """Fit the count slider to the current clip's patch count, keeping the ratio."""
        n = self.num_patches
        self._syncing = True
        try:
            self.count.max = n
            self.count.value = round(ratio * n)
            self.count.step = 1
        finally:
            self._syncing = False

    def _on_change(self, change) -> None:
        try:
            if change["owner"] in (self.clip, self.checkpoint):
                self._sync_count_range(ratio=self.ratio.value)  # the patch grid may differ
        except Exception as exc:  # noqa: BLE001 -- e.g. an unreadable checkpoint: say so in the UI, keep the view
            self._show_error(exc)
            return
        self._safe_render()

    def _show_error(self, exc: Exception) -> None:
        """The error in the summary. The figure keeps the last view that worked (``result``), which no longer
        matches the controls: the players are cleared, and audio made now says whose it is."""
        self.summary.value = (f'<div class="{SUMMARY_CLASS} ssamba-explorer-error" style="color:#b00">'
                              f"<b>{type(exc).__name__}</b>: {html.escape(str(exc))}</div>")
        self._stale = True
        self._clear_audio("audio: the figure shows the last view that worked (see the message above)")

    def _clear_audio(self, status: str) -> None:
        self.audio_original.value = self.audio_reconstruction.value = b""
        self.audio_status.value = status

    def _safe_listen(self) -> None:
        try:
            self.synthesise_audio()
        except Exception as exc:  # noqa: BLE001 -- e.g. a non-finite reconstruction: said next to the button
            self._clear_audio(f'<span style="color:#b00">audio failed: <b>{type(exc).__name__}</b>: '
                              f"{html.escape(str(exc))}</span>")

    def _safe_render(self) -> None:
        try:
            self.render()
        except Exception as exc:  # noqa: BLE001 -- shown in the UI instead of vanishing into the kernel log
            self._show_error(exc)

    def _on_count(self, change) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.ratio.value = change["new"] / max(self.count.max, 1)
        finally:
            self._syncing = False
        self._safe_render()

    def _on_ratio(self, change) -> None:
        if self._syncing:
            return
        self.count.value = round(change["new"] * self.count.max)  # renders via _on_count when it changes

    # ---- figures -------------------------------------------------------------------------------------------
    def _make_figure(self) -> go.FigureWidget:
        fig = make_subplots(rows=2, cols=2, shared_xaxes="all", shared_yaxes="all", subplot_titles=PANELS,
                            horizontal_spacing=0.06, vertical_spacing=0.12)
        pixel_hover = "frame %{x}, bin %{y}<br>value %{z:.2f}<br>patch %{customdata}<extra>%{fullData.name}</extra>"
        for i, name in enumerate(PANELS[:3]):
            fig.add_trace(go.Heatmap(name=name, coloraxis="coloraxis", hovertemplate=pixel_hover),
                          row=i // 2 + 1, col=i % 2 + 1)
        fig.add_trace(go.Heatmap(name="error", coloraxis="coloraxis2", hovertemplate=(
            "patch %{customdata[0]}<br>error %{customdata[1]:.4f}<br>discriminative rank %{customdata[2]}"
            "<extra>patch error</extra>")), row=2, col=2)
        fig.update_layout(height=520, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                          coloraxis={"colorscale": "Viridis", "colorbar": {"x": 1.0, "y": 0.78, "len": 0.45, "title": "feat"}},
                          coloraxis2={"colorscale": "Inferno", "colorbar": {"x": 1.0, "y": 0.22, "len": 0.45, "title": "MSE"}})
        fig.update_xaxes(title_text="frame", row=2)
        fig.update_yaxes(title_text="mel bin", col=1)
        return go.FigureWidget(fig)

    def _make_profile(self) -> go.FigureWidget:
        fig = make_subplots(rows=1, cols=2, subplot_titles=("masked error per frequency band",
                                                            "masked error per time column"))
        fig.add_trace(go.Bar(name="band", hovertemplate="band %{x}: %{y:.4f}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(name="time", mode="lines+markers", connectgaps=False,
                                 hovertemplate="frames %{x}: %{y:.4f}<extra></extra>"), row=1, col=2)
        fig.update_layout(height=230, showlegend=False, margin={"l": 50, "r": 20, "t": 40, "b": 40})
        fig.update_xaxes(title_text="mel bins", row=1, col=1)
        fig.update_xaxes(title_text="first frame", row=1, col=2)
        return go.FigureWidget(fig)

    def _update_axes(self, r: ReconstructionResult) -> None:
        """Coordinates and the (mask-independent) patch-index hover data: only when clip or grid changes."""
        frames, bins = r.features.shape
        pf, pt = r.patch_size
        pixel_patch = np.kron(r.patch_index, np.ones((pf, pt), dtype=np.int64))  # [bins, frames]
        for trace in self.figure.data[:3]:
            trace.x, trace.y, trace.customdata = np.arange(frames), np.arange(bins), pixel_patch
        err = self.figure.data[3]
        err.x0, err.dx, err.y0, err.dy = (pt - 1) / 2, pt, (pf - 1) / 2, pf
        lo, hi = np.percentile(r.features, [1, 99])
        self.figure.layout.coloraxis.cmin, self.figure.layout.coloraxis.cmax = float(lo), float(hi)
        band = self.profile.data[0]
        band.x = [f"{f * pf}-{(f + 1) * pf - 1}" for f in range(r.grid[0])]
        self.profile.data[1].x = np.arange(r.grid[1]) * pt

    def _draw(self, r: ReconstructionResult) -> None:
        # the patch numbering (token order) too: two checkpoints may share a grid and number it differently
        axes_key = (id(self.current_clip), r.grid, r.patch_size, r.patch_index.tobytes())
        with self.figure.batch_update():
            if axes_key != self._axes_key:
                self._update_axes(r)
            for trace, arr in zip(self.figure.data[:3], (r.features, r.masked_input, r.reconstruction)):
                trace.z = _json_safe(arr.T)  # [bins, frames]
            ranks = r.discriminative.rank_grid if r.discriminative is not None else np.full(r.grid, np.nan)
            err = self.figure.data[3]
            err.z = _json_safe(r.masked_error_grid)  # [F, T]
            err.customdata = _json_safe(np.stack([r.patch_index, r.patch_error, ranks], axis=-1))  # [F, T, 3]
        with self.profile.batch_update():
            self.profile.data[0].y = r.band_error
            self.profile.data[1].y = r.time_error
        self._axes_key = axes_key

    def _summary_html(self, r: ReconstructionResult, cached: bool) -> str:
        d = r.discriminative
        finite = bool(np.isfinite(r.reconstruction).all())
        if d is None:
            disc = "discriminative: n/a (reconstruction objective)"
        elif not finite:
            disc = "discriminative: n/a (the model's output is not finite)"
        elif d.num_candidates == 0:
            disc = "discriminative: n/a (no patch masked)"
        else:
            disc = (f"discriminative: true patch ranked first for {d.top1:.0%}, mean rank {d.mean_rank:.1f} of "
                    f"{d.num_candidates}")
        if not finite:  # NaN scores rank every patch first: say what is wrong instead of a perfect score
            disc += ('<br><b style="color:#b00">the reconstruction has NaN or Inf values: this checkpoint is '
                     "broken (diverged training or corrupt weights)</b>")
        worst = int(np.nanargmax(r.band_error)) if np.isfinite(r.band_error).any() else None
        worst_txt = f"worst band: bins {worst * r.patch_size[0]}-{(worst + 1) * r.patch_size[0] - 1}" if worst is not None else ""
        attrs = {"num-masked": r.num_masked, "num-patches": r.mask.size, "masked-mse": f"{r.masked_mse:.6f}",
                 "recon-digest": _digest(r.reconstruction), "render-ms": f"{self.last_render_s * 1e3:.0f}"}
        data = " ".join(f'data-{k}="{html.escape(str(v))}"' for k, v in attrs.items())
        return (f'<div class="{SUMMARY_CLASS}" {data}><b>{html.escape(r.name)}</b> &middot; {r.choice.strategy} '
                f"masking, seed {r.choice.seed}: <b>{r.num_masked}/{r.mask.size}</b> patches masked &middot; "
                f"masked MSE {r.masked_mse:.4f} &middot; visible-patch MSE {r.unmasked_mse:.4f} &middot; {worst_txt}"
                f"<br>{disc}<br><small>re-render {self.last_render_s:.3f} s "
                f"({'cached forward' if cached else 'new forward'})</small></div>")

    # ---- actions -------------------------------------------------------------------------------------------
    def render(self) -> ReconstructionResult:
        """Recompute (or fetch) the current view and update every output. Returns the result shown."""
        t0 = time.perf_counter()
        misses = self.cache.misses
        r = reconstruct(self.pretrainer, self.current_clip, self.mask_choice, audio=False, cache=self.cache)
        self._draw(r)
        self.result, self._stale = r, False
        if self.auto_audio.value:
            self._safe_listen()
        else:  # the players held the previous view
            self._clear_audio("audio: press <i>synthesise audio</i> for this view")
        self.last_render_s = time.perf_counter() - t0
        self.renders += 1
        self.summary.value = self._summary_html(r, cached=self.cache.misses == misses)
        return r

    def synthesise_audio(self) -> None:
        """Fill both players with mel-inversion audio of the current view."""
        t0 = time.perf_counter()
        if self.result is None:
            self._clear_audio("audio: no view to synthesise (see the message above)")
            return
        r = with_audio(self.result, n_iter=self.audio_iters)
        self.audio_original.value = wav_bytes(r.audio_original, r.sample_rate)
        self.audio_reconstruction.value = wav_bytes(r.audio_reconstruction, r.sample_rate)
        self.result = r
        whose = "the last view that worked, not the current selection" if self._stale else "current view"
        self.audio_status.value = f"audio: {whose} ({time.perf_counter() - t0:.2f} s Griffin-Lim)"

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)
