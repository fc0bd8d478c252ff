"""torchrun (gloo, 2 CPU processes) gives the single-process losses for the same global batch, resumes
bit-identically, and leaves the process group cleanly."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ddp_parity.py"


def test_two_process_losses_match_single_process(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--world-size", "2", "--device", "cpu",
           "--model-override", "depth=1", "embed_dim=32", "--frames", "32", "--steps", "4", "--global-batch", "8",
           "--timed-steps", "0", "--tolerance", "1e-5"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads((tmp_path / "ddp_parity.json").read_text())
    single, ddp = res["runs"]["single"]["parity"], res["runs"]["ddp2"]["parity"]
    assert ddp["world_size"] == 2 and ddp["per_rank_batch"] == 4 and single["per_rank_batch"] == 8
    assert len(single["losses"]) == len(ddp["losses"]) == 4
    assert single["losses"][0] != single["losses"][-1]  # training moves the loss: the comparison means something
    assert res["summary"]["max_abs_loss_diff"] <= 1e-5


def test_torchrun_finetune_resume_is_bit_identical(tiny_corpus, tmp_path):
    import torch

    from ssamba_lab.checkpoint import load_checkpoint

    def torchrun(run_dir, *extra):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m",
               "ssamba_lab.train.finetune", "--task", "ks1", "--data-root", str(tiny_corpus), "--device", "cpu",
               "--run-dir", str(run_dir), "--manifest-dir", str(tmp_path / "manifests"),
               "--model-override", "depth=1", "embed_dim=32", "drop_path=0.1",
               "--recipe-override", "target_frames=32", "batch_size=4", "warmup_steps=2", "freqm=8", "timem=8",
               "--max-steps", "5", "--checkpoint-every-steps", "2", "--no-progress", "--seed", "3", *extra]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        # a long tail of stderr: torchrun's failure summary alone is ~2000 characters, and the failing rank's
        # own last words ("terminate called after ...", "Fatal Python error ...") come before it
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-8000:]

    torchrun(tmp_path / "straight")
    torchrun(tmp_path / "cut", "--stop-after-steps", "3")  # interrupted after step 3; checkpoint at step 2
    assert load_checkpoint(tmp_path / "cut" / "last").trainer_state["loop"]["step"] == 2
    torchrun(tmp_path / "cut")
    a = load_checkpoint(tmp_path / "straight" / "last").state_dict
    b = load_checkpoint(tmp_path / "cut" / "last").state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)


# After DDP has run, cleanup() must really free the group: a group left alive keeps gloo's threads and sockets
# running through interpreter and C++ teardown at exit, where the ranks race each other's exits.
_CLEANUP_SCRIPT = """
import glob, torch
from torch import nn
from ssamba_lab.train import distributed as D
D.init_distributed("cpu")
model = nn.parallel.DistributedDataParallel(nn.Linear(4, 4))
model(torch.randn(2, 4)).sum().backward()
del model
D.cleanup()
print(sorted(open(t + "/comm").read().strip() for t in glob.glob("/proc/self/task/*")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists threads through /proc")
def test_cleanup_after_ddp_frees_the_process_group():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port)}
    r = subprocess.run([sys.executable, "-c", _CLEANUP_SCRIPT], capture_output=True, text=True, timeout=300,
                       env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    threads = r.stdout.strip().splitlines()[-1]
    assert "gloo" not in threads, f"the process group outlived cleanup(): threads {threads}"
