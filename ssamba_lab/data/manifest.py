"""SSAST-compatible manifests and label CSVs, read and written, streamed from disk.

Manifest file (what SSAST / SSAMBA read)::

    {"data": [
    {"wav": "/abs/path/a.wav", "labels": "/m/09x0r,/t/dd00088"},
    {"wav": "/abs/path/b.wav", "labels": "yes", "start": 3.0, "duration": 1.0}
    ]}

We write one entry per line, so the same file is valid JSON for SSAST and line-indexable here: a
:class:`Manifest` keeps only an ``int64`` array of byte offsets (16 MB for AudioSet-2M) and parses an entry
when it is asked for. Extra keys are ignored by SSAST; ours are ``start``/``duration`` (seconds, a window of
the file), ``segments`` (``[[path, offset_s, duration_s, mid], ...]`` concatenated in order, for DASL),
``fold``/``session``/``speaker``. Manifests written by others (any JSON layout) are converted once into a
line-indexed copy under ``cache_dir``.

Label CSV (SSAST's ``class_labels_indices.csv``): header ``index,mid,display_name``; ``labels`` in a manifest
entry are comma-separated ``mid`` values.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

_HEADER = '{"data": ['


@dataclass(frozen=True)
class LabelMap:
    """Ordered class list: ``mids[i]`` is class ``i``; ``names[i]`` its display name."""

    mids: tuple[str, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        assert len(self.mids) == len(self.names), "LabelMap: mids and names differ in length"
        assert len(set(self.mids)) == len(self.mids), "LabelMap: duplicate mids"
        object.__setattr__(self, "_index", {m: i for i, m in enumerate(self.mids)})

    @classmethod
    def from_mids(cls, mids: Iterable[str], names: Iterable[str] | None = None) -> "LabelMap":
        mids = tuple(mids)
        return cls(mids, tuple(names) if names is not None else mids)

    def __len__(self) -> int:
        return len(self.mids)

    def index(self, mid: str) -> int:
        """Class index of ``mid``; ``KeyError`` naming the label when it is not in the map."""
        try:
            return self._index[mid]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"label {mid!r} is not in the label map ({len(self)} classes)") from None

    def encode(self, labels: str) -> list[int]:
        """``"a,b"`` -> ``[index(a), index(b)]`` (empty string -> ``[]``)."""
        return [self.index(m) for m in split_labels(labels)]


def split_labels(labels: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; tolerant of spaces and the empty string."""
    return [m.strip() for m in labels.split(",") if m.strip()]


def read_label_csv(path: str | Path) -> LabelMap:
    """Read ``index,mid,display_name`` (header required; rows sorted by index)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"index", "mid", "display_name"} - set(reader.fieldnames or [])
        assert not missing, f"{path}: label CSV lacks column(s) {sorted(missing)}"
        rows = sorted(((int(r["index"]), r["mid"], r["display_name"]) for r in reader), key=lambda r: r[0])
    assert [r[0] for r in rows] == list(range(len(rows))), f"{path}: indices must be 0..{len(rows) - 1}"
    return LabelMap(tuple(r[1] for r in rows), tuple(r[2] for r in rows))


def write_label_csv(path: str | Path, labels: LabelMap) -> Path:
    """Write ``index,mid,display_name`` (SSAST's format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_text(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["index", "mid", "display_name"])
        for i, (mid, name) in enumerate(zip(labels.mids, labels.names)):
            writer.writerow([i, mid, name])
    return path


def write_manifest(path: str | Path, entries: Iterable[dict]) -> int:
    """Stream ``entries`` (each with ``wav`` and ``labels``) to an SSAST JSON manifest; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with _atomic_text(path) as f:
        f.write(_HEADER + "\n")
        for entry in entries:
            assert "wav" in entry and "labels" in entry, f"manifest entry needs 'wav' and 'labels': {entry}"
            f.write(("" if n == 0 else ",\n") + json.dumps(entry, separators=(",", ":")))
            n += 1
        f.write("\n]}\n")
    return n


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``Path.write_text`` that another process reading ``path`` meanwhile never sees half written."""
    path = Path(path)
    with _atomic_text(path) as f:
        f.write(text)
    return path


class Manifest:
    """Random access to a manifest's entries without loading them: ``len(m)``, ``m[i]`` -> dict, ``iter(m)``.

    Picklable (DataLoader workers reopen the file lazily).
    """

    def __init__(self, path: str | Path, *, cache_dir: str | Path | None = None):
        self.source = Path(path)
        if not self.source.is_file():
            raise FileNotFoundError(f"manifest not found: {self.source}")
        self.path = self.source if _is_line_format(self.source) else _convert(self.source, cache_dir)
        self.offsets = _index_lines(self.path)  # [n] int64 byte offsets
        self._fh, self._fh_pid = None, None

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> dict:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"manifest index {i} out of range ({len(self)} entries)")
        # A handle inherited through fork() shares its file offset with the parent and sibling DataLoader
        # workers, so concurrent seek + readline would interleave: every process opens its own.
        if self._fh is None or self._fh_pid != os.getpid():
            self._fh, self._fh_pid = self.path.open("rb"), os.getpid()
        self._fh.seek(int(self.offsets[i]))
        return json.loads(self._fh.readline().rstrip(b",\r\n"))

    def __iter__(self) -> Iterator[dict]:
        with self.path.open("rb") as f:
            for off in self.offsets:
                f.seek(int(off))
                yield json.loads(f.readline().rstrip(b",\r\n"))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fh": None, "_fh_pid": None}

    def __repr__(self) -> str:
        return f"Manifest({str(self.source)!r}, {len(self)} entries)"


def read_manifest(path: str | Path, *, cache_dir: str | Path | None = None) -> Manifest:
    """Open an SSAST manifest (ours or anyone's) as a streaming :class:`Manifest`."""
    return Manifest(path, cache_dir=cache_dir)


def _is_line_format(path: Path) -> bool:
    with path.open("rb") as f:
        return f.readline().strip() == _HEADER.encode()


def _index_lines(path: Path) -> np.ndarray:
    offsets: list[int] = []
    with path.open("rb") as f:
        f.readline()  # header
        pos = f.tell()
        for line in f:
            if line.startswith(b"{"):
                offsets.append(pos)
            pos += len(line)
    return np.asarray(offsets, dtype=np.int64)


def _convert(path: Path, cache_dir: str | Path | None) -> Path:
    """Rewrite a foreign manifest once into our line format (keyed by path, size and mtime)."""
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    base = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "ssamba_lab_manifests"
    out = base / f"{path.stem}.{key}.json"
    if not out.is_file():
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
        assert isinstance(data, dict) and isinstance(data.get("data"), list), (
            f"{path}: not an SSAST manifest (expected {{\"data\": [...]}})"
        )
        write_manifest(out, data["data"])
    return out


class _atomic_text:
    """Write to a temporary file in the same folder, then rename (readers never see half a file)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self.f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return self.f

    def __exit__(self, exc_type, exc, tb):
        self.f.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)
        return False
