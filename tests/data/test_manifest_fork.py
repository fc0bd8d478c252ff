"""A manifest read in the parent stays correct when forked DataLoader workers read it concurrently.

(Each process opens its own handle. The interleaving itself is hard to provoke, so besides the outcome the test
checks the cause: the parent's file offset, shared with children through an inherited handle, must not move.)
"""
import multiprocessing as mp
import os

import pytest

from ssamba_lab.data.manifest import Manifest, write_manifest


def _read_all(manifest, indices, out):
    import random

    rng = random.Random(indices[0])
    for _ in range(20):  # many random seeks make an interleaving with the siblings near-certain if offsets are shared
        for i in rng.sample(indices, len(indices)):
            assert manifest[i]["wav"] == f"/audio/{i:05d}.wav"
    out.put([manifest[i]["wav"] for i in indices])


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork()")
def test_forked_readers_read_the_right_entries(tmp_path):
    path = tmp_path / "m.json"
    entries = [{"wav": f"/audio/{i:05d}.wav", "labels": "a" * 200} for i in range(2000)]  # > buffer size
    write_manifest(path, entries)
    manifest = Manifest(path)
    assert manifest[3]["wav"] == "/audio/00003.wav"  # the parent opens its handle before forking
    fd = manifest._fh.fileno()
    pos = os.lseek(fd, 0, os.SEEK_CUR)  # shared with every forked child that reads through this handle
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_read_all, args=(manifest, list(range(k, 2000, 4)), out)) for k in range(4)]
    for p in procs:
        p.start()
    results = sorted(w for _ in procs for w in out.get(timeout=60))
    for p in procs:
        p.join()
    assert results == sorted(e["wav"] for e in entries)
    assert os.lseek(fd, 0, os.SEEK_CUR) == pos, "a child read through the parent's handle (its offset moved)"
