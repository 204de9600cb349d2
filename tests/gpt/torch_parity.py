"""PyTorch side of the tfjs ↔ PyTorch parity test (tests/gpt/parity_test.ts).

An independent PyTorch implementation of actlab's mini-GPT. For every case file given on the
command line (safetensors written by the TypeScript test: the weights under their checkpoint
names, stored [in, out], plus `batch.x` / `batch.y` of shape [steps, B, T] and a JSON `case`
in the metadata) it writes `<case>.out.safetensors` with

- `logits`: the forward pass on batch 0, [B, T, V];
- `losses`: the loss of each of the first `steps` AdamW steps (torch.optim.AdamW, weight decay on
  2-D weights only, warmup + cosine learning rate, clip_grad_norm_), [steps];
- `final/<key>`: every parameter after those steps.

With `"optimizer": "muon"` in the training config the steps are Muon's for the blocks' matrices and
AdamW's for the rest, by the reference in tools/muon_reference.py.

Only the standard library and torch are used (the safetensors format is parsed by hand).
usage: /usr/bin/python3 torch_parity.py CASE.safetensors [...]
"""
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

DTYPES = {"F32": (torch.float32, 4), "I32": (torch.int32, 4)}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        dtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + end]), dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


UNARY = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "relu2": lambda x: F.relu(x).square(),
    "mish": F.mish,
}
GATED = {"reglu": F.relu, "geglu": F.gelu, "swiglu": F.silu, "glu": torch.sigmoid}


def forward(P, cfg, act, idx):
    B, T = idx.shape
    C, nh, L, eps = cfg["nEmbd"], cfg["nHead"], cfg["nLayer"], cfg["layerNormEps"]
    hs = C // nh
    ln = lambda x, name: F.layer_norm(x, (C,), P[name + ".weight"], P.get(name + ".bias"), eps)
    lin = lambda x, name: x @ P[name + ".weight"] + (P[name + ".bias"] if name + ".bias" in P else 0)
    x = P["wte.weight"][idx.long()] + P["wpe.weight"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for i in range(L):
        q, k, v = lin(ln(x, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn").split(C, dim=2)
        q, k, v = (z.view(B, T, nh, hs).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + lin(y, f"h.{i}.attn.c_proj")
        h = lin(ln(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc")
        if act in GATED:
            gate, value = h.chunk(2, dim=-1)
            h = GATED[act](gate) * value
        else:
            h = UNARY[act](h)
        x = x + lin(h, f"h.{i}.mlp.c_proj")
    x = ln(x, "ln_f")
    head = P["lm_head.weight"] if "lm_head.weight" in P else P["wte.weight"].T
    return x @ head


def lr_at(it, t):
    lr, warm, iters = t["learningRate"], t["warmupIters"], t["iters"]
    min_lr = t["minLearningRate"] if t["minLearningRate"] is not None else lr / 10
    if it < warm:
        return lr * (it + 1) / (warm + 1)
    r = min(1.0, (it - warm) / max(1, iters - warm))
    return min_lr + 0.5 * (1 + math.cos(math.pi * r)) * (lr - min_lr)


def run(path):
    tensors, meta = read_safetensors(path)
    case = json.loads(meta["case"])
    cfg, tcfg, act = case["model"], case["train"], case["model"]["activation"]
    xs, ys = tensors.pop("batch.x"), tensors.pop("batch.y")
    P = {k: v.requires_grad_(True) for k, v in tensors.items()}
    with torch.no_grad():
        logits = forward(P, cfg, act, xs[0])
    if tcfg.get("optimizer") == "muon":
        losses = run_muon(P, cfg, tcfg, act, xs, ys)
        out = {"logits": logits, "losses": torch.tensor(losses, dtype=torch.float64)}
        out.update({f"final/{k}": v for k, v in P.items()})
        write_safetensors(path.replace(".safetensors", ".out.safetensors"), out)
        return
    decay = [p for p in P.values() if p.dim() >= 2]
    nodecay = [p for p in P.values() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tcfg["weightDecay"]}, {"params": nodecay, "weight_decay": 0.0}],
        lr=tcfg["learningRate"], betas=(tcfg["beta1"], tcfg["beta2"]), eps=tcfg["adamEps"],
    )
    losses = []
    for it in range(xs.shape[0]):
        for g in opt.param_groups:
            g["lr"] = lr_at(it, tcfg)
        out = forward(P, cfg, act, xs[it])
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), ys[it].reshape(-1).long())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), tcfg["gradClip"])
        opt.step()
        losses.append(loss.item())
    out = {"logits": logits, "losses": torch.tensor(losses, dtype=torch.float64)}
    out.update({f"final/{k}": v for k, v in P.items()})
    write_safetensors(path.replace(".safetensors", ".out.safetensors"), out)


def run_muon(P, cfg, tcfg, act, xs, ys):
    """Muon for the blocks' matrices, AdamW for the rest (tools/muon_reference.py); P is updated."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tools"))
    from muon_reference import MuonWithAdamW
    muon = {k for k, p in P.items() if k.startswith("h.") and p.dim() == 2}
    decay = {k for k, p in P.items() if p.dim() >= 2}
    opt = MuonWithAdamW({k: p.detach() for k, p in P.items()}, muon, decay, tcfg)
    losses = []
    for it in range(xs.shape[0]):
        out = forward(P, cfg, act, xs[it])
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), ys[it].reshape(-1).long())
        for p in P.values():
            p.grad = None
        loss.backward()
        opt.step({k: p.grad for k, p in P.items()}, lr_at(it, tcfg))  # clips, then updates
        new = opt.state()
        with torch.no_grad():
            for k, p in P.items():
                p.copy_(new[k])
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    for p in sys.argv[1:]:
        run(p)
    print(json.dumps({"torch": torch.__version__, "cases": len(sys.argv) - 1}))
