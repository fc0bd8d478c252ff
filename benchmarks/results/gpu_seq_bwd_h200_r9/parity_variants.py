"""Which part of the Triton path moves whole-model fp32 gradient parity (tests/ops/test_gpu_parity.py's setup):
fast math, the seq backward, the split-K projections. Output: parity_variants.txt."""
import json

import torch

from ssamba_lab.models import build_model
from ssamba_lab.ops.parity import backend_parity
from ssamba_lab.ops import scan_triton as st
torch.backends.cuda.matmul.allow_tf32 = False
torch.manual_seed(0)
model = build_model("ssamba-tiny", drop_path=0.0, input_tdim=256).cuda()
x = torch.randn(2, 256, 128, device="cuda")
for name, cfg in [("default", st.TritonScanConfig()), ("no-fast", st.TritonScanConfig(seq_fast_math=False)),
                  ("chunked-bwd", st.TritonScanConfig(backward="chunked")),
                  ("no-fast-chunked-bwd", st.TritonScanConfig(seq_fast_math=False, backward="chunked"))]:
    st.set_launch_config(cfg)
    (r,) = backend_parity(model, x, ["triton"])
    print(name, json.dumps(r.__dict__), flush=True)
orig = st._dir_linear
st._dir_linear = lambda x, w, *, split: orig(x, w, split=False)
st.set_launch_config(st.TritonScanConfig())
(r,) = backend_parity(model, x, ["triton"])
print("no-splitk", json.dumps(r.__dict__), flush=True)
