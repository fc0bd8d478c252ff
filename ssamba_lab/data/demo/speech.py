"""Speech synthesis for the demo corpus: espeak-ng (shipped by the ``espeakng-loader`` wheel) through ctypes.

``Synthesizer().say("yes", voice) -> float32 [samples]`` at 16 kHz. espeak-ng is deterministic for a given
text and voice, so the corpus is reproducible from its seed. The library has global state: one
``Synthesizer`` per process.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000  # = ssamba_lab.features.SAMPLE_RATE; not imported so corpus workers start without torch

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechUnavailable(RuntimeError):
    """espeak-ng cannot be loaded; the message says how to install it."""


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``name`` like ``"en-us+f3"``, rate in words/min, pitch and range in 0..99."""

    name: str
    rate: int = 160
    pitch: int = 50
    range: int = 50
    volume: int = 100


class Synthesizer:
    """Text -> waveform with espeak-ng (one instance per process; not thread-safe)."""

    _instance: "Synthesizer | None" = None

    def __new__(cls) -> "Synthesizer":
        if cls._instance is None:
            inst = super().__new__(cls)
            inst._init()
            cls._instance = inst
        return cls._instance

    def _init(self) -> None:
        try:
            import espeakng_loader
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = espeakng_loader.get_data_path()
        except (ImportError, OSError, RuntimeError) as exc:
            raise SpeechUnavailable(
                "the demo corpus needs espeak-ng for its speech: pip install 'espeakng-loader>=0.2' "
                f"(or pip install -e '.[demo]'); loading it failed with: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), 0)
        if rate <= 0:
            raise SpeechUnavailable(f"espeak_Initialize failed (returned {rate}) with data path {data}")
        self.lib, self.native_rate = lib, rate
        self._chunks: list[np.ndarray] = []

        def _collect(wav, n, _events):  # called synchronously from espeak_Synth
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = _CALLBACK(_collect)  # keep a reference: espeak holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def say(self, text: str, voice: Voice, *, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
        """Speak ``text``; returns float32 ``[samples]`` in [-1, 1] at ``sample_rate``."""
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise SpeechUnavailable(f"espeak-ng has no voice {voice.name!r}")
        for param, value in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.range),
                             (_VOLUME, voice.volume)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self._chunks = []
        self.lib.espeak_ng_SetRandSeed(seed)
        buf = text.encode() + b"\0"
        err = self.lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        assert err == 0, f"espeak_Synth failed with error {err} for {text!r}"
        self.lib.espeak_Synchronize()
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)  # [samples] int16
        wav = pcm.astype(np.float32) / 32768.0  # [samples] at native rate
        g = np.gcd(sample_rate, self.native_rate)
        return resample_poly(wav, sample_rate // g, self.native_rate // g).astype(np.float32)  # [samples]
