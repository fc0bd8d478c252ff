"""Writers for each official layout of the demo corpus (one function per dataset family).

Every writer takes ``(root, config, synth)`` and returns ``{"files": n, "seconds": s}``; randomness comes
from ``np.random.default_rng([config.seed, <stream id>])`` so each dataset is reproducible on its own.
"""
from __future__ import annotations

import csv
import hashlib
import string
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from ..adapters.speech_commands import KS1_WORDS, V2_WORDS
from .config import DemoConfig
from .sounds import SR, coloured_noise, make_event
from .speech import Synthesizer, Voice
from .voices import jitter, make_voices

FILLERS = ("the", "a", "please", "now", "then", "and", "very", "my", "today", "again", "maybe", "quickly",
           "over", "there", "here", "with", "this", "that", "it", "is")
SENTENCES = ("the meeting is at five today", "I left my keys on the table", "we will go there again tomorrow",
             "that is not what I said", "the train was late this morning", "please open the window now",
             "she wrote a letter to her friend", "it is going to rain later", "they bought a new house",
             "the dog is sleeping under the tree")
ALPHABET = string.ascii_letters + string.digits + "_-"


class _Writer:
    """Counts files and seconds while writing 16-bit audio."""

    def __init__(self):
        self.files, self.seconds = 0, 0.0

    def __call__(self, path: Path, wav: np.ndarray, *, sr: int = SR, fmt: str = "WAV") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), np.clip(wav, -1.0, 1.0), sr, subtype="PCM_16", format=fmt)
        self.files += 1
        self.seconds += len(wav) / sr
        return path

    def stats(self) -> dict:
        return {"files": self.files, "seconds": round(self.seconds, 1)}


def trim(wav: np.ndarray, *, rel: float = 0.02) -> np.ndarray:
    """Strip leading/trailing samples below ``rel`` x peak."""
    idx = np.flatnonzero(np.abs(wav) > rel * (np.abs(wav).max() + 1e-9))
    return wav[idx[0]: idx[-1] + 1] if len(idx) else wav


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps, pn = np.mean(signal**2) + 1e-12, np.mean(noise**2) + 1e-12
    return signal + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))


def _id(rng: np.random.Generator, n: int = 11) -> str:
    return "".join(ALPHABET[i] for i in rng.integers(0, len(ALPHABET), n))


def _window(rng: np.random.Generator, noise: np.ndarray, n: int) -> np.ndarray:
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start:start + n]


# --------------------------------------------------------------------------------------------- noise beds
def background_noises(rng: np.random.Generator, seconds: float) -> dict[str, np.ndarray]:
    """The six Speech Commands ``_background_noise_`` files, synthesised. Each ``[seconds * 16000]``."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    dishes = np.zeros(n)
    for start in rng.integers(0, n - 4000, int(3 * seconds)):
        m = int(rng.integers(1500, 4000))
        f = rng.uniform(1500, 4500)
        dishes[start:start + m] += np.sin(2 * np.pi * f * np.arange(m) / SR) * np.exp(-np.arange(m) / 600)
    miaow = np.zeros(n)
    for start in rng.integers(0, n - 12000, max(1, int(seconds / 2))):
        m = 12000
        tt = np.arange(m) / SR
        f0 = rng.uniform(500, 700) * (1 + 0.5 * np.sin(np.pi * tt / tt[-1]))
        miaow[start:start + m] += np.sin(2 * np.pi * np.cumsum(f0) / SR) * np.sin(np.pi * tt / tt[-1])
    beds = {
        "white_noise": rng.standard_normal(n),
        "pink_noise": coloured_noise(rng, n, slope=-1.0),
        "running_tap": coloured_noise(rng, n, lo=400, hi=5000) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)),
        "doing_the_dishes": dishes + 0.1 * coloured_noise(rng, n, slope=-1.0),
        "exercise_bike": coloured_noise(rng, n, slope=-1.0, lo=100, hi=3000) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.4 * t)),
        "dude_miaowing": miaow + 0.05 * coloured_noise(rng, n, slope=-1.0),
    }
    return {k: (v / (np.abs(v).max() + 1e-9) * 0.3).astype(np.float32) for k, v in beds.items()}


def noisy(rng: np.random.Generator, wav: np.ndarray, beds: dict[str, np.ndarray], snr: tuple[float, float],
          p: float) -> np.ndarray:
    if rng.random() >= p:
        return wav
    bed = beds[sorted(beds)[int(rng.integers(0, len(beds)))]]
    noise = np.resize(bed, len(wav)) if len(bed) < len(wav) else _window(rng, bed, len(wav))
    return mix_at_snr(wav, noise, rng.uniform(*snr))


# --------------------------------------------------------------------------------------- Speech Commands
def speech_commands(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    """One tree serving v0.01 (ks1) and v0.02 (ks2): all 35 words, official lists, background noise."""
    rng = np.random.default_rng([config.seed, 1])
    out = root / "speech_commands"
    w = _Writer()
    beds = background_noises(rng, config.sc_noise_seconds)
    for name, wav in beds.items():
        w(out / "_background_noise_" / f"{name}.wav", wav)
    voices = sc_voices(config)
    n_tr, n_va = config.sc_train_voices, config.sc_val_voices
    val_list, test_list = [], []
    for vi, voice in enumerate(voices):
        split = "train" if vi < n_tr else "validation" if vi < n_tr + n_va else "test"
        spk = hashlib.sha1(f"{config.seed}:{voice.name}".encode()).hexdigest()[:8]
        for word in V2_WORDS:
            core = word in KS1_WORDS
            takes = {"train": config.sc_core_takes_train, "validation": config.sc_core_takes_eval,
                     "test": config.sc_core_takes_eval}[split] if core else 1
            for take in range(takes):
                speech = trim(synth.say(word, jitter(voice, rng)))[:SR]  # [<= 16000]
                clip = np.zeros(SR, np.float32)
                off = int(rng.integers(0, SR - len(speech) + 1))
                clip[off:off + len(speech)] = speech / (np.abs(speech).max() + 1e-9) * rng.uniform(0.3, 0.9)
                clip = noisy(rng, clip, beds, (5.0, 25.0), p=0.8)
                rel = f"{word}/{spk}_nohash_{take}.wav"
                w(out / rel, clip)
                (val_list if split == "validation" else test_list if split == "test" else []).append(rel)
    (out / "validation_list.txt").write_text("".join(r + "\n" for r in sorted(val_list)))
    (out / "testing_list.txt").write_text("".join(r + "\n" for r in sorted(test_list)))
    (out / "LICENSE").write_text("Synthetic demo data generated by ssamba_lab.data.demo (espeak-ng voices).\n")
    return w.stats()


def sc_voices(config: DemoConfig) -> list[Voice]:
    """Speech Commands speakers: the first ``sc_train_voices`` train, then validation, then test."""
    return make_voices(config.sc_train_voices + config.sc_val_voices + config.sc_test_voices, seed=config.seed)


# -------------------------------------------------------------------------------------------- LibriSpeech
def librispeech(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    """Unlabeled speech pool: the keyword vocabulary in running speech, by the Speech Commands *train* voices
    plus extra voices (never the validation/test voices), partly over background noise."""
    rng = np.random.default_rng([config.seed, 2])
    out = root / "LibriSpeech"
    w = _Writer()
    beds = background_noises(np.random.default_rng([config.seed, 20]), config.sc_noise_seconds)
    all_voices = make_voices(len(sc_voices(config)) + config.pool_extra_voices + config.pool_dev_voices,
                             seed=config.seed)
    n_sc = len(sc_voices(config))
    train_voices = all_voices[: config.sc_train_voices] + all_voices[n_sc: n_sc + config.pool_extra_voices]
    dev_voices = all_voices[n_sc + config.pool_extra_voices:]
    speakers = []
    for subset, voices in (("train-clean-100", train_voices), ("dev-clean", dev_voices)):
        for vi, voice in enumerate(voices):
            spk, chapter = 100 + 10 * len(speakers), 1000 + vi
            speakers.append(f"{spk:<5}| {'F' if '+f' in voice.name else 'M'} | {subset:<16}| 1.00 | {voice.name}")
            lines = []
            for u in range(config.pool_utterances):
                n_words = int(rng.integers(6, 12))
                words = [V2_WORDS[i] if rng.random() < 0.6 else FILLERS[i % len(FILLERS)]
                         for i in rng.integers(0, len(V2_WORDS), n_words)]
                text = " ".join(words)
                wav = trim(synth.say(text.replace(" ", ", ", 1), jitter(voice, rng)))
                wav = wav / (np.abs(wav).max() + 1e-9) * rng.uniform(0.3, 0.9)
                wav = noisy(rng, np.pad(wav, (1600, 1600)), beds, (5.0, 30.0), p=0.6)
                uid = f"{spk}-{chapter}-{u:04d}"
                w(out / subset / str(spk) / str(chapter) / f"{uid}.flac", wav, fmt="FLAC")
                lines.append(f"{uid} {text.upper()}")
            (out / subset / str(spk) / str(chapter) / f"{spk}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    (out / "SPEAKERS.TXT").write_text("; ID | SEX | SUBSET | MINUTES | NAME\n" + "\n".join(speakers) + "\n")
    return w.stats()


# ------------------------------------------------------------------------------------------------ ESC-50
def esc50(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    rng = np.random.default_rng([config.seed, 3])
    out = root / "ESC-50"
    w = _Writer()
    rows = []
    for target, category in enumerate(config.esc_categories):
        for fold in range(1, 6):
            for take in range(config.esc_clips_per_fold):
                src = int(rng.integers(10_000, 999_999))
                name = f"{fold}-{src}-{'ABCDEFGH'[take]}-{target}.wav"
                w(out / "audio" / name, make_event(category, rng, config.esc_seconds))
                rows.append([name, fold, target, category, "False", src, "ABCDEFGH"[take]])
    (out / "meta").mkdir(parents=True, exist_ok=True)
    with (out / "meta" / "esc50.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(sorted(rows))
    return w.stats()


# ------------------------------------------------------------------------------------------ UrbanSound8K
US8K_CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
                "gun_shot", "jackhammer", "siren", "street_music")
_US8K_EVENT = {"engine_idling": "engine"}


def urbansound8k(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    rng = np.random.default_rng([config.seed, 4])
    out = root / "UrbanSound8K"
    w = _Writer()
    rows = []
    for fold in range(1, 11):
        for k in range(config.us8k_clips_per_fold):
            class_id = int((fold * 3 + k) % len(US8K_CLASSES)) if k < len(US8K_CLASSES) else int(rng.integers(0, 10))
            cls = US8K_CLASSES[class_id]
            dur = round(float(rng.uniform(*config.us8k_seconds)), 3)
            fs_id = int(rng.integers(1000, 200_000))
            name = f"{fs_id}-{class_id}-0-{k}.wav"
            w(out / "audio" / f"fold{fold}" / name, make_event(_US8K_EVENT.get(cls, cls), rng, dur))
            start = round(float(rng.uniform(0, 30)), 6)
            rows.append([name, fs_id, start, round(start + dur, 6), int(rng.integers(1, 3)), fold, class_id, cls])
    (out / "metadata").mkdir(parents=True, exist_ok=True)
    with (out / "metadata" / "UrbanSound8K.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"])
        writer.writerows(rows)
    return w.stats()


# -------------------------------------------------------------------------------------------- VoxCeleb1
def voxceleb1(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    rng = np.random.default_rng([config.seed, 5])
    out = root / "voxceleb1"
    w = _Writer()
    voices = make_voices(config.vox_speakers, seed=config.seed + 7)
    beds = background_noises(rng, 4.0)
    lines = []
    for si, voice in enumerate(voices):
        spk = f"id{10001 + si}"
        for u in range(config.vox_utterances):
            video = _id(rng)
            text = SENTENCES[int(rng.integers(0, len(SENTENCES)))]
            wav = trim(synth.say(text, jitter(voice, rng)))
            wav = noisy(rng, wav / (np.abs(wav).max() + 1e-9) * 0.7, beds, (10.0, 30.0), p=0.5)
            rel = f"{spk}/{video}/{u + 1:05d}.wav"
            w(out / "wav" / rel, wav)
            code = 3 if u == config.vox_utterances - 1 else 2 if u == config.vox_utterances - 2 else 1
            lines.append(f"{code} {rel}")
    (out / "iden_split.txt").write_text("\n".join(lines) + "\n")
    return w.stats()


# ----------------------------------------------------------------------------------------------- IEMOCAP
# Prosody standing in for emotion: (rate x, pitch +, range, gain, brightness)
EMOTION_PROSODY = {
    "neu": (1.0, 0, 35, 0.6, 0.0), "hap": (1.15, 18, 90, 0.8, 0.0), "exc": (1.25, 22, 95, 0.9, 0.0),
    "sad": (0.72, -15, 8, 0.3, -1.0), "ang": (1.2, 8, 70, 1.0, 1.0), "fru": (0.95, 0, 50, 0.7, 0.5),
}


def _emote(synth: Synthesizer, text: str, voice: Voice, emo: str, rng: np.random.Generator) -> np.ndarray:
    rate, dpitch, rng_, gain, bright = EMOTION_PROSODY[emo]
    v = Voice(voice.name, rate=int(voice.rate * rate), pitch=int(np.clip(voice.pitch + dpitch, 0, 99)), range=rng_)
    wav = trim(synth.say(text, jitter(v, rng, pitch=3, rate=6)))
    wav = wav / (np.abs(wav).max() + 1e-9)
    if bright > 0:  # tense voice: soft clipping adds upper harmonics
        wav = np.tanh(3.0 * wav) / np.tanh(3.0)
    elif bright < 0:  # breathy, dull voice: one-pole low-pass
        out = lfilter([0.25], [1.0, -0.75], wav)
        wav = out / (np.abs(out).max() + 1e-9)
    return wav * gain * 0.9


def iemocap(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    rng = np.random.default_rng([config.seed, 6])
    out = root / "IEMOCAP_full_release"
    w = _Writer()
    voices = make_voices(10, seed=config.seed + 11)
    for session in range(1, 6):
        dialog = f"Ses0{session}F_impro01"
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        t, counters = 1.0, {"F": 0, "M": 0}
        for gi, gender in enumerate("FM"):
            voice = voices[2 * (session - 1) + gi]
            for emo, n in config.iemocap_per_speaker.items():
                for _ in range(n):
                    text = SENTENCES[int(rng.integers(0, len(SENTENCES)))]
                    wav = _emote(synth, text, voice, emo, rng)
                    utt = f"{dialog}_{gender}{counters[gender]:03d}"
                    counters[gender] += 1
                    w(out / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav", wav)
                    dur = len(wav) / SR
                    lines += [f"[{t:.4f} - {t + dur:.4f}]\t{utt}\t{emo}\t[2.5000, 2.5000, 2.5000]",
                              f"C-E1:\t{emo};\t()", ""]
                    t += dur + 0.5
        ev = out / f"Session{session}" / "dialog" / "EmoEvaluation"
        ev.mkdir(parents=True, exist_ok=True)
        (ev / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
    return w.stats()


# ---------------------------------------------------------------------------------------------- AudioSet
AUDIOSET_CLASSES = (("/demo/speech", "Speech", None), ("/demo/dog", "Dog", "dog_bark"),
                    ("/demo/siren", "Siren", "siren"), ("/demo/rain", "Rain", "rain"),
                    ("/demo/engine", "Engine", "engine"), ("/demo/bell", "Bell", "church_bells"),
                    ("/demo/tick", "Tick-tock", "clock_tick"), ("/demo/horn", "Vehicle horn", "car_horn"),
                    ("/demo/music", "Music", "street_music"), ("/demo/gunshot", "Gunshot", "gun_shot"))


def _mixture(rng, synth, primary: int, seconds: float, voices: list[Voice]) -> tuple[np.ndarray, list[str]]:
    n = int(seconds * SR)
    k = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    chosen = [primary] + [int(c) for c in rng.choice(len(AUDIOSET_CLASSES), k - 1, replace=False) if c != primary]
    mix = np.zeros(n, np.float32)
    for c in chosen:
        mid, _, event = AUDIOSET_CLASSES[c]
        dur = rng.uniform(1.5, seconds)
        if event is None:
            x = trim(synth.say(SENTENCES[int(rng.integers(0, len(SENTENCES)))], voices[int(rng.integers(0, len(voices)))]))
            x = (x / (np.abs(x).max() + 1e-9) * 0.5)[: int(dur * SR)]
        else:
            x = make_event(event, rng, dur, background_db=-60.0)
        start = int(rng.integers(0, n - len(x) + 1))
        mix[start:start + len(x)] += x * rng.uniform(0.5, 1.0)
    mix += coloured_noise(rng, n, slope=-1.0).astype(np.float32) * 0.005
    return mix / max(1.0, float(np.abs(mix).max()) / 0.9), sorted(AUDIOSET_CLASSES[c][0] for c in chosen)


def audioset(root: Path, config: DemoConfig, synth: Synthesizer) -> dict:
    rng = np.random.default_rng([config.seed, 8])
    out = root / "audioset"
    w = _Writer()
    voices = make_voices(12, seed=config.seed + 13)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "class_labels_indices.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "mid", "display_name"])
        writer.writerows([i, mid, name] for i, (mid, name, _) in enumerate(AUDIOSET_CLASSES))
    for subset, count in (("balanced_train", config.audioset_balanced), ("eval", config.audioset_eval),
                          ("unbalanced_train", config.audioset_unbalanced)):
        rows = []
        for i in range(count):
            primary = i % len(AUDIOSET_CLASSES) if subset != "unbalanced_train" else int(rng.integers(0, 10))
            wav, mids = _mixture(rng, synth, primary, config.audioset_seconds, voices)
            ytid, start = _id(rng), float(rng.integers(0, 30)) * 10
            end = start + config.audioset_seconds
            w(out / "audio" / subset / f"Y{ytid}_{start:.3f}_{end:.3f}.flac", wav, fmt="FLAC")
            rows.append(f'{ytid}, {start:.3f}, {end:.3f}, "{",".join(mids)}"')
        header = (f"# Segments csv created by ssamba_lab.data.demo (synthetic)\n"
                  f"# num_ytids={count}, num_segs={count}, num_unique_labels={len(AUDIOSET_CLASSES)}\n"
                  "# YTID, start_seconds, end_seconds, positive_labels\n")
        (out / f"{subset}_segments.csv").write_text(header + "\n".join(rows) + "\n")
    return w.stats()
