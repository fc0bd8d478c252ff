"""Small trees in each official layout (tiny tonal wavs, 16-bit), for tests here and in other packages."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(path: Path, seconds: float = 0.5, *, sr: int = 16000, channels: int = 1, freq: float = 440.0,
         fmt: str = "WAV") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    sf.write(str(path), np.stack([x] * channels, 1) if channels > 1 else x, sr, format=fmt, subtype="PCM_16")
    return path


def speech_commands(root: Path, words: tuple[str, ...], *, per_word: int = 5, noise_seconds: float = 3.0) -> Path:
    """``per_word`` files per word by speakers s0..s4; speaker s3 -> validation list, s4 -> testing list."""
    val, test = [], []
    for w in words:
        for k in range(per_word):
            rel = f"{w}/s{k}_nohash_0.wav"
            tone(root / rel, 1.0)
            (val if k == 3 else test if k == 4 else []).append(rel)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    tone(root / "_background_noise_" / "white_noise.wav", noise_seconds)
    return root


def esc50(root: Path, categories=("dog", "rain", "siren"), per_fold: int = 2) -> Path:
    rows = []
    for target, cat in enumerate(categories):
        for fold in range(1, 6):
            for k in range(per_fold):
                name = f"{fold}-{100 + k}-A-{target}.wav"
                tone(root / "audio" / name, 0.5)
                rows.append([name, fold, target, cat, "False", 100 + k, "A"])
    (root / "meta").mkdir(parents=True, exist_ok=True)
    with (root / "meta" / "esc50.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        w.writerows(rows)
    return root


def audioset(root: Path, *, n_balanced: int = 20, n_eval: int = 6, n_unbal: int = 8, missing: int = 2) -> Path:
    mids = [("/m/a", "A"), ("/m/b", "B"), ("/m/c", "C")]
    root.mkdir(parents=True, exist_ok=True)
    with (root / "class_labels_indices.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "mid", "display_name"])
        w.writerows([i, m, n] for i, (m, n) in enumerate(mids))
    for subset, n in (("balanced_train", n_balanced), ("eval", n_eval), ("unbalanced_train", n_unbal)):
        lines = ["# Segments csv", "# num_ytids=..", "# YTID, start_seconds, end_seconds, positive_labels"]
        for i in range(n):
            ytid = f"{subset[:3]}{i:08d}"
            lines.append(f'{ytid}, 30.000, 40.000, "{mids[i % 3][0]},{mids[(i + 1) % 3][0]}"')
            if i >= missing:  # the first `missing` rows have no downloaded audio
                name = [f"Y{ytid}.wav", f"{ytid}_30.000_40.000.flac", f"{ytid}_30.wav"][i % 3]
                tone(root / "audio" / subset / name, 0.5, fmt="FLAC" if name.endswith("flac") else "WAV")
        (root / f"{subset}_segments.csv").write_text("\n".join(lines) + "\n")
    return root


def librispeech(root: Path, *, dev: bool = True) -> Path:
    for subset, spks in (("train-clean-100", (19, 26)), ("dev-clean", (84,)) if dev else ("", ())):
        for spk in spks:
            for u, secs in enumerate((2.5, 0.5)):
                tone(root / subset / str(spk) / "198" / f"{spk}-198-{u:04d}.flac", secs, fmt="FLAC")
    return root


US8K = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling", "gun_shot",
        "jackhammer", "siren", "street_music")


def urbansound8k(root: Path, *, per_fold: int = 4, seconds: float = 1.5) -> Path:
    rows = []
    for fold in range(1, 11):
        for k in range(per_fold):
            cid = (fold + k) % 10
            name = f"{1000 + fold}-{cid}-0-{k}.wav"
            tone(root / "audio" / f"fold{fold}" / name, seconds)
            rows.append([name, 1000 + fold, 0.0, seconds, 1, fold, cid, US8K[cid]])
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    with (root / "metadata" / "UrbanSound8K.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"])
        w.writerows(rows)
    return root


def voxceleb1(root: Path, *, speakers: int = 3) -> Path:
    lines = []
    for s in range(speakers):
        for u, code in enumerate((1, 1, 2, 3)):
            rel = f"id{10001 + s}/vid{u}/{u + 1:05d}.wav"
            tone(root / "wav" / rel, 0.5)
            lines.append(f"{code} {rel}")
    (root / "iden_split.txt").write_text("\n".join(lines) + "\n")
    return root


def iemocap(root: Path, *, emotions=("neu", "hap", "exc", "sad", "ang", "fru", "xxx")) -> Path:
    for s in range(1, 6):
        dialog = f"Ses0{s}F_impro01"
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        for i, emo in enumerate(emotions):
            for g in "FM":
                utt = f"{dialog}_{g}{i:03d}"
                tone(root / f"Session{s}" / "sentences" / "wav" / dialog / f"{utt}.wav", 0.5)
                lines += [f"[{i:.4f} - {i + 0.5:.4f}]\t{utt}\t{emo}\t[2.5000, 2.5000, 2.5000]", "C-E2:\tNeutral;\t()", ""]
        ev = root / f"Session{s}" / "dialog" / "EmoEvaluation"
        ev.mkdir(parents=True, exist_ok=True)
        (ev / f"{dialog}.txt").write_text("\n".join(lines))
    return root
