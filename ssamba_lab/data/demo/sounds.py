"""Procedural environmental sound events for the demo corpus (ESC-50, UrbanSound8K, AudioSet layouts).

Every event type has its own spectro-temporal signature (pitch, harmonicity, bandwidth, rhythm, envelope),
with per-clip random variation, so a classifier has something real to learn. ``make_event(kind, rng,
seconds)`` -> float32 ``[samples]`` at 16 kHz, peak about 0.5.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

SR = 16_000


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def coloured_noise(rng: np.random.Generator, n: int, *, slope: float = 0.0, lo: float = 0.0,
                   hi: float = SR / 2) -> np.ndarray:
    """Noise with power ~ f**slope, band-limited to [lo, hi] Hz (FFT shaping). Returns ``[n]`` unit-RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    gain = np.where((f >= lo) & (f <= hi), np.maximum(f, 1.0) ** (slope / 2), 0.0)
    x = np.fft.irfft(spec * gain, n)
    return x / (np.sqrt(np.mean(x * x)) + 1e-9)


def _harmonic(f0: np.ndarray, n_harm: int, rolloff: float, rng: np.random.Generator) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / SR
    out = np.zeros_like(f0)
    for k in range(1, n_harm + 1):
        if np.max(f0) * k < SR / 2:
            out += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**rolloff
    return out


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / SR
    return np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / decay)


def _place(total: int, parts: list[tuple[int, np.ndarray]]) -> np.ndarray:
    out = np.zeros(total)
    for start, x in parts:
        end = min(total, start + len(x))
        if end > start:
            out[start:end] += x[: end - start]
    return out


def dog_bark(rng, seconds):
    n, parts, pos = int(seconds * SR), [], int(rng.uniform(0.05, 0.3) * SR)
    for _ in range(rng.integers(1, 4)):
        d = rng.uniform(0.12, 0.25)
        t = _t(d)
        f0 = rng.uniform(350, 650) * (1.3 - 0.6 * t / d)
        x = _harmonic(f0, 12, 1.0, rng) + 0.4 * coloured_noise(rng, len(t), lo=300, hi=3000)
        parts.append((pos, x * _env(len(t), 0.01, d / 3)))
        pos += int((d + rng.uniform(0.15, 0.4)) * SR)
    return _place(n, parts)


def rooster(rng, seconds):
    d = min(seconds - 0.1, rng.uniform(0.9, 1.4))
    t = _t(d)
    f0 = rng.uniform(450, 600) * (1 + 0.6 * np.sin(np.pi * t / d) ** 2) * (1 + 0.02 * np.sin(2 * np.pi * 30 * t))
    x = _harmonic(f0, 8, 1.2, rng) * np.sin(np.pi * t / d) ** 0.5
    return _place(int(seconds * SR), [(int(rng.uniform(0, seconds - d) * SR), x)])


def rain(rng, seconds):
    n = int(seconds * SR)
    x = coloured_noise(rng, n, slope=-0.5, lo=200) * 0.3
    drops = np.zeros(n)
    idx = rng.integers(0, n, int(rng.uniform(40, 120) * seconds))
    drops[idx] = rng.uniform(0.5, 1.5, len(idx))
    kernel = np.exp(-np.arange(80) / 10) * np.sin(np.arange(80) * rng.uniform(0.8, 1.5))
    return x + np.convolve(drops, kernel, mode="same")


def sea_waves(rng, seconds):
    n = int(seconds * SR)
    t = _t(seconds)
    am = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(0.15, 0.35) * t + rng.uniform(0, 6.28))
    return coloured_noise(rng, n, slope=-1.5, lo=50, hi=4000) * am


def crackling_fire(rng, seconds):
    n = int(seconds * SR)
    base = coloured_noise(rng, n, slope=-2.0, lo=30, hi=1000) * 0.4
    cr = np.zeros(n)
    idx = rng.integers(0, n, int(rng.uniform(15, 40) * seconds))
    cr[idx] = rng.choice([-1, 1], len(idx)) * rng.uniform(0.5, 2.0, len(idx))
    return base + np.convolve(cr, np.exp(-np.arange(40) / 4), mode="same")


def clock_tick(rng, seconds):
    n, period = int(seconds * SR), rng.uniform(0.45, 0.55)
    click = coloured_noise(rng, 240, lo=2000, hi=6000) * _env(240, 0.0005, 0.004)
    parts = [(int((k * period + 0.05) * SR), click * (1.0 if k % 2 else 0.7)) for k in range(int(seconds / period))]
    return _place(n, parts)


def church_bells(rng, seconds):
    n, f = int(seconds * SR), rng.uniform(300, 500)
    parts, pos = [], int(0.05 * SR)
    while pos < n:
        d = min(2.0, seconds)
        t = _t(d)
        x = sum(np.sin(2 * np.pi * f * r * t) * np.exp(-t / (1.2 / r)) / r
                for r in (0.5, 1.0, 1.19, 1.5, 2.0, 2.51, 3.0))
        parts.append((pos, x))
        pos += int(rng.uniform(0.8, 1.2) * SR)
    return _place(n, parts)


def siren(rng, seconds):
    t = _t(seconds)
    f0 = rng.uniform(700, 900) + rng.uniform(250, 450) * np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * t)
    return _harmonic(f0, 4, 1.5, rng)


def engine(rng, seconds):
    n, t = int(seconds * SR), _t(seconds)
    f0 = rng.uniform(25, 45) * (1 + 0.03 * np.sin(2 * np.pi * 0.5 * t))
    x = _harmonic(f0, 30, 0.8, rng)
    return x + 0.3 * coloured_noise(rng, n, slope=-1.0, lo=20, hi=800)


def chainsaw(rng, seconds):
    n, t = int(seconds * SR), _t(seconds)
    f0 = rng.uniform(90, 140) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t))
    return _harmonic(f0, 40, 0.5, rng) + 0.3 * coloured_noise(rng, n, lo=1000, hi=6000)


def drilling(rng, seconds):
    n, t = int(seconds * SR), _t(seconds)
    x = _harmonic(np.full(n, rng.uniform(300, 500)), 12, 0.6, rng)
    am = 0.7 + 0.3 * np.sin(2 * np.pi * rng.uniform(8, 15) * t)
    return x * am + 0.2 * coloured_noise(rng, n, lo=2000, hi=7000)


def jackhammer(rng, seconds):
    n, rate = int(seconds * SR), rng.uniform(12, 20)
    hit = coloured_noise(rng, 500, lo=200, hi=4000) * _env(500, 0.001, 0.01)
    return _place(n, [(int(k / rate * SR), hit) for k in range(int(seconds * rate))])


def air_conditioner(rng, seconds):
    n, t = int(seconds * SR), _t(seconds)
    hum = 0.3 * (np.sin(2 * np.pi * 60 * t) + 0.5 * np.sin(2 * np.pi * 120 * t))
    return coloured_noise(rng, n, slope=-1.0, lo=80, hi=2500) + hum


def car_horn(rng, seconds):
    n = int(seconds * SR)
    d = min(seconds - 0.1, rng.uniform(0.4, 1.2))
    m = int(d * SR)
    f = rng.uniform(380, 460)
    x = (_harmonic(np.full(m, f), 10, 0.7, rng) + _harmonic(np.full(m, f * 1.25), 10, 0.7, rng)) * _env(m, 0.01, 10)
    return _place(n, [(int(rng.uniform(0, seconds - d) * SR), x)])


def gun_shot(rng, seconds):
    n, parts = int(seconds * SR), []
    for _ in range(rng.integers(1, 4)):
        m = int(0.4 * SR)
        x = coloured_noise(rng, m, slope=-0.5, lo=100) * _env(m, 0.0005, rng.uniform(0.03, 0.08)) * 3
        parts.append((int(rng.uniform(0, max(0.01, seconds - 0.4)) * SR), x))
    return _place(n, parts)


def children_playing(rng, seconds):
    n, t, out = int(seconds * SR), _t(seconds), 0.0
    for _ in range(3):
        f0 = rng.uniform(250, 420) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)))
        syll = (np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6)) > rng.uniform(-0.2, 0.4))
        out = out + _harmonic(f0, 10, 1.3, rng) * syll
    return out + 0.2 * coloured_noise(rng, n, slope=-1.0)


def street_music(rng, seconds):
    n, notes, pos = int(seconds * SR), [], 0
    scale = rng.uniform(200, 300) * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    beat = rng.uniform(0.15, 0.3)
    while pos < n:
        m = int(beat * SR * rng.choice([1, 2]))
        notes.append((pos, _harmonic(np.full(m, rng.choice(scale)), 6, 1.5, rng) * _env(m, 0.005, beat)))
        pos += m
    return _place(n, notes)


EVENTS: dict[str, Callable[[np.random.Generator, float], np.ndarray]] = {
    f.__name__: f for f in (dog_bark, rooster, rain, sea_waves, crackling_fire, clock_tick, church_bells, siren,
                            engine, chainsaw, drilling, jackhammer, air_conditioner, car_horn, gun_shot,
                            children_playing, street_music)
}


def make_event(kind: str, rng: np.random.Generator, seconds: float, *, background_db: float = -30.0) -> np.ndarray:
    """One clip of ``kind`` over faint pink noise; float32 ``[seconds * 16000]``, peak about 0.5."""
    assert kind in EVENTS, f"unknown event {kind!r}; known: {sorted(EVENTS)}"
    x = EVENTS[kind](rng, seconds)
    x = x / (np.max(np.abs(x)) + 1e-9) * 0.5 * rng.uniform(0.5, 1.0)
    bg = coloured_noise(rng, len(x), slope=-1.0) * 10 ** (background_db / 20) * 0.5
    return (x + bg).astype(np.float32)
