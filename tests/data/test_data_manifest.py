import json

import pytest

from ssamba_lab.data.manifest import LabelMap, Manifest, read_label_csv, write_label_csv, write_manifest


def test_manifest_roundtrip_is_valid_ssast_json(tmp_path):
    entries = [{"wav": f"/x/{i}.wav", "labels": "a,b" if i % 2 else "c", "start": float(i)} for i in range(7)]
    path = tmp_path / "m.json"
    assert write_manifest(path, entries) == 7
    assert json.loads(path.read_text()) == {"data": entries}  # what SSAST's loader reads
    m = Manifest(path)
    assert len(m) == 7 and m[3] == entries[3] and m[-1] == entries[-1] and list(m) == entries
    with pytest.raises(IndexError):
        m[7]


def test_foreign_manifest_is_converted(tmp_path):
    entries = [{"wav": "/a.wav", "labels": "/m/09x0r"}, {"wav": "/b.wav", "labels": "/m/0bt9lr,/m/09x0r"}]
    path = tmp_path / "ssast.json"
    path.write_text(json.dumps({"data": entries}, indent=1))  # SSAST's own pretty-printed style
    m = Manifest(path, cache_dir=tmp_path / "cache")
    assert list(m) == entries and m.path != path


def test_empty_manifest(tmp_path):
    write_manifest(tmp_path / "e.json", [])
    assert json.loads((tmp_path / "e.json").read_text()) == {"data": []} and len(Manifest(tmp_path / "e.json")) == 0


def test_label_csv_roundtrip(tmp_path):
    labels = LabelMap(("/m/a", "/m/b"), ("Speech, male", "Dog"))
    write_label_csv(tmp_path / "l.csv", labels)
    assert (tmp_path / "l.csv").read_text().splitlines()[0] == "index,mid,display_name"
    back = read_label_csv(tmp_path / "l.csv")
    assert back == labels and back.encode("/m/b,/m/a") == [1, 0] and back.encode("") == []
    with pytest.raises(KeyError, match="not in the label map"):
        back.index("/m/zzz")
