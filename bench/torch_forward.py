"""PyTorch side of bench/forward.ts: times the forward pass of actlab's mini-GPT on the weights
in a safetensors file (checkpoint names, [in, out] layout; `case` metadata = {"model": config}),
with the model definition of tests/gpt/torch_parity.py.

usage: /usr/bin/python3 bench/torch_forward.py WEIGHTS.safetensors BATCH SEQ REPEATS [THREADS]
prints one JSON line: median_ms, tokens_per_s, max_abs_logit (a checksum).
"""
import json, os, statistics, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "gpt"))
import torch  # noqa: E402
from torch_parity import forward, read_safetensors  # noqa: E402

path, batch, seq, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
P, meta = read_safetensors(path)
cfg = json.loads(meta["case"])["model"]
g = torch.Generator().manual_seed(0)
idx = torch.randint(0, cfg["vocabSize"], (batch, seq), generator=g, dtype=torch.int32)
times = []
with torch.no_grad():
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        out = forward(P, cfg, cfg["activation"], idx)
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
ms = statistics.median(times)
print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "median_ms": ms, "tokens_per_s": batch * seq / ms * 1000,
                  "max_abs_logit": float(out.abs().max())}))
