"""Each kind of bad file: repaired or skipped with the file named; one bad file never ends a run."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from ssamba_lab.data import testing_trees as trees
from ssamba_lab.data import BadAudioReport, audit_entries, inspect_file, load_waveform, write_manifest
from ssamba_lab.data.dataset import AudioDataset, DataConfig
from ssamba_lab.data.manifest import LabelMap, Manifest
from ssamba_lab.features import AudioError, FbankStats


@pytest.fixture()
def bad_files(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    files = {
        "clean": trees.tone(d / "clean.wav", 0.5),
        "stereo": trees.tone(d / "stereo.wav", 0.5, channels=2),
        "sample_rate": trees.tone(d / "sr44k.wav", 0.5, sr=44100),
        "too_short": trees.tone(d / "short.wav", 0.01),
        "corrupt": d / "corrupt.wav",
        "empty": d / "empty.wav",
        "nonfinite": d / "nan.wav",
        "silent": d / "silent.wav",
        "missing": d / "missing.wav",
        "truncated": trees.tone(d / "cut.wav", 0.5),
    }
    whole = files["truncated"].read_bytes()
    files["truncated"].write_bytes(whole[: len(whole) * 6 // 10])  # an interrupted download
    files["corrupt"].write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    sf.write(str(files["empty"]), np.zeros(0, np.float32), 16000)
    x = np.zeros(8000, np.float32)
    x[100:200] = np.nan
    sf.write(str(files["nonfinite"]), x, 16000, subtype="FLOAT")
    sf.write(str(files["silent"]), np.zeros(8000, np.float32), 16000)
    return files


def test_inspect_names_each_problem(bad_files):
    for kind, path in bad_files.items():
        assert inspect_file(path) == ([] if kind == "clean" else [kind]), kind


def test_repairs(bad_files):
    assert load_waveform({"wav": str(bad_files["stereo"])}).shape == (8000,)
    assert load_waveform({"wav": str(bad_files["sample_rate"])}).shape == (8000,)  # 0.5 s at 16 kHz
    assert load_waveform({"wav": str(bad_files["too_short"])}).shape == (1600,)  # padded to 0.1 s


@pytest.mark.parametrize("kind", ["corrupt", "empty", "nonfinite", "silent", "missing"])
def test_skip_kinds_raise_naming_the_file(bad_files, kind):
    with pytest.raises(AudioError, match=bad_files[kind].name):
        load_waveform({"wav": str(bad_files[kind])})


def test_audit_report(bad_files, tmp_path):
    entries = [{"wav": str(p), "labels": "a"} for p in bad_files.values()]
    report = BadAudioReport()
    kept = list(audit_entries(entries, report))
    assert {e["wav"] for e in kept} == {str(bad_files[k]) for k in ("clean", "stereo", "sample_rate", "too_short")}
    assert {r["path"] for r in report.skipped} == {str(bad_files[k]) for k in ("corrupt", "empty", "nonfinite", "silent",
                                                                             "missing", "truncated")}
    assert len(report.repaired) == 3 and report.checked == 10
    assert "corrupt.wav (corrupt)" in report.summary()
    back = json.loads(report.to_json(tmp_path / "r.json").read_text())
    assert back["checked"] == 10 and len(back["rows"]) == 9


def test_truncation_is_judged_by_the_data_chunk(tmp_path):
    """A whole WAV with an odd-sized chunk (padded to even length) before its data is not truncated; cut by a
    single byte it is (libsndfile reads both without complaint)."""
    import struct

    from ssamba_lab.data.bad_audio import wav_truncated

    wav = trees.tone(tmp_path / "a.wav", 0.2).read_bytes()
    at = wav.index(b"data")
    extra = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\0"  # odd size 3, one pad byte
    body = wav[12:at] + extra + wav[at:]
    whole = tmp_path / "list.wav"
    whole.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    assert sf.info(str(whole)).frames == 3200 and not wav_truncated(whole) and inspect_file(whole) == []
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:-1])
    assert wav_truncated(cut) and inspect_file(cut) == ["truncated"]


def test_dataset_skips_bad_files_and_keeps_going(bad_files, tmp_path):
    order = ["clean", "corrupt", "nonfinite", "stereo", "silent", "empty", "missing", "sample_rate"]
    write_manifest(tmp_path / "m.json", [{"wav": str(bad_files[k]), "labels": "a"} for k in order])
    log = tmp_path / "bad.jsonl"
    ds = AudioDataset(Manifest(tmp_path / "m.json"), LabelMap.from_mids(["a"]),
                      DataConfig(target_frames=64, stats=FbankStats(-6.0, 5.0), train=False), bad_audio_log=log)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=0)
    batches = list(loader)
    assert sum(len(b["row"]) for b in batches) == 8
    rows = torch.cat([b["row"] for b in batches]).tolist()
    assert rows == [0, 3, 3, 3, 7, 7, 7, 7]  # each bad row replaced by the next usable one
    logged = [json.loads(l) for l in log.read_text().splitlines()]
    assert {l["path"] for l in logged} == {str(bad_files[k]) for k in ("corrupt", "nonfinite", "silent", "empty", "missing")}
    assert all(l["action"] == "skipped" for l in logged)


def test_all_bad_fails_with_a_clear_message(bad_files, tmp_path):
    write_manifest(tmp_path / "m.json", [{"wav": str(bad_files["corrupt"]), "labels": "a"}])
    ds = AudioDataset(Manifest(tmp_path / "m.json"), LabelMap.from_mids(["a"]),
                      DataConfig(target_frames=64, stats=FbankStats(-6.0, 5.0), train=False, max_retries=2))
    with pytest.raises(RuntimeError, match="3 consecutive unusable files"):
        ds[0]


def test_window_errors_name_the_file(bad_files):
    clean = bad_files["clean"]  # 0.5 s
    with pytest.raises(AudioError, match=f"window starts past the end of {clean}: start 2.0 s.* lasts 0.500 s"):
        load_waveform({"wav": str(clean), "start": 2.0, "duration": 1.0})
    with pytest.raises(AudioError, match=f"audio file not found: {bad_files['missing']}"):
        load_waveform({"wav": str(bad_files["missing"]), "start": 0.0, "duration": 1.0})
    assert load_waveform({"wav": str(clean), "start": 0.25, "duration": 1.0}).shape == (4000,)
