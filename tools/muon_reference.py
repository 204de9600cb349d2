"""Muon in PyTorch, float32: the reference actlab's two Muon implementations are checked against.

The update of Keller Jordan's reference (github.com/KellerJordan/Muon, muon.py:
zeropower_via_newtonschulz5, muon_update, SingleDeviceMuonWithAuxAdam), written again here for
float32 on the CPU (the reference iterates in bfloat16 on a GPU), in PyTorch's own layout: a
weight is [out, in], as nn.Linear stores it. actlab stores weights [in, out], so they are
transposed on the way in and out; the orientation rule and the sqrt(max(1, out/in)) scale are
therefore checked as the reference states them, not as actlab restates them.

    m <- lerp(m, g, 1 - beta)            momentum
    u <- lerp(g, m, beta)                Nesterov
    O <- NS5(u)                          quintic Newton-Schulz, (a, b, c) = (3.4445, -4.7750, 2.0315)
    p <- p * (1 - lr*wd) - lr * sqrt(max(1, out/in)) * O

AdamW (torch.optim.AdamW) updates every other parameter; all gradients are first clipped together
(torch.nn.utils.clip_grad_norm_), as actlab's engines do.

usage: /usr/bin/python3 muon_reference.py CASE.safetensors [...]
A case (written by tests/gpt/muon_test.ts and tests/onnx/muon_test.ts) holds the parameters under
their checkpoint keys ([in, out]), their gradients for each step as `grad.<step>/<key>`, and in
the metadata `case`: the training config, each step's learning rate (the schedule's, AdamW's) and
which parameters Muon takes and which AdamW decays. Writes CASE.out.safetensors: the parameters
after the steps (`<key>`), the optimizer buffers (`adam_m/<key>`, `adam_v/<key>`, `muon_m/<key>`)
and the gradient norms before clipping (`grad_norms`). Needs only torch and the standard library.
"""
import json, math, struct, sys
import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # KellerJordan/Muon muon.py
NS_STEPS = 5  # the reference's ns_steps
NS_EPS = 1e-7  # added to the Frobenius norm before dividing by it


def newton_schulz5(G):
    """Approximately U V^T of G = U S V^T, for G [rows, cols] in PyTorch's layout, float32."""
    a, b, c = NS_COEFFICIENTS
    X = G.float()
    tall = G.size(-2) > G.size(-1)
    if tall:
        X = X.mT  # iterate on the smaller Gram matrix X X^T
    X = X / (X.norm() + NS_EPS)  # spectral norm <= Frobenius norm = 1
    for _ in range(NS_STEPS):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    return X.mT if tall else X


def muon_step(p, g, m, lr, beta, wd):
    """One Muon update, in place, of weight p [out, in] with gradient g and momentum buffer m."""
    m.lerp_(g, 1 - beta)
    u = g.lerp(m, beta)
    update = newton_schulz5(u) * max(1, p.size(-2) / p.size(-1)) ** 0.5
    p.mul_(1 - lr * wd)
    p.add_(update, alpha=-lr)


def clip_factor(grads, max_norm):
    """The global gradient norm and clip_grad_norm_'s factor min(1, max_norm / (norm + 1e-6))."""
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if max_norm <= 0:
        return norm, 1.0
    return norm, torch.clamp(max_norm / (norm + 1e-6), max=1.0)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", f"{name}: {e['dtype']}"
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + end]), dtype=torch.float32)
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


class MuonWithAdamW:
    """Muon for the named matrices, torch.optim.AdamW for the rest, stepped together.

    `params` maps checkpoint keys to tensors in actlab's layout ([in, out]); Muon's are held
    transposed ([out, in]) and given back in actlab's layout by `state()`.
    """

    def __init__(self, params, muon, decay, train):
        self.train = train
        self.muon = [k for k in params if k in muon]
        self.adam = [k for k in params if k not in muon]
        self.P = {k: (v.T.contiguous() if k in muon else v).clone().requires_grad_(True) for k, v in params.items()}
        self.M = {k: torch.zeros_like(self.P[k]) for k in self.muon}
        groups = [
            {"params": [self.P[k] for k in self.adam if k in decay], "weight_decay": train["weightDecay"]},
            {"params": [self.P[k] for k in self.adam if k not in decay], "weight_decay": 0.0},
        ]
        self.adamw = torch.optim.AdamW(
            [g for g in groups if g["params"]], lr=0.0,
            betas=(train["beta1"], train["beta2"]), eps=train["adamEps"],
        )
        self.beta = train.get("muonMomentum", 0.95)
        self.ratio = train.get("muonLrRatio", 20)
        self.wd = train.get("muonWeightDecay", 0.0)

    def step(self, grads, lr):
        """One step with gradients in actlab's layout; returns the norm before clipping."""
        for k, g in grads.items():
            self.P[k].grad = (g.T if k in self.M else g).clone()
        norm, factor = clip_factor([p.grad for p in self.P.values()], self.train["gradClip"])
        with torch.no_grad():
            for p in self.P.values():
                p.grad.mul_(factor)
            for group in self.adamw.param_groups:
                group["lr"] = lr
            self.adamw.step()
            for k in self.muon:
                muon_step(self.P[k], self.P[k].grad, self.M[k], lr * self.ratio, self.beta, self.wd)
        return float(norm)

    def state(self):
        """Parameters and buffers by actlab's names, in actlab's layout."""
        out = {}
        for k, p in self.P.items():
            out[k] = p.detach().T if k in self.M else p.detach()
        for k in self.muon:
            out[f"muon_m/{k}"] = self.M[k].T
        for k in self.adam:
            s = self.adamw.state[self.P[k]]
            out[f"adam_m/{k}"], out[f"adam_v/{k}"] = s["exp_avg"], s["exp_avg_sq"]
        return out


def run(path):
    tensors, meta = read_safetensors(path)
    case = json.loads(meta["case"])
    params = {k: v for k, v in tensors.items() if not k.startswith("grad.")}
    opt = MuonWithAdamW(params, set(case["muon"]), set(case["decay"]), case["train"])
    norms = []
    for step, lr in enumerate(case["lrs"]):
        grads = {k: tensors[f"grad.{step}/{k}"] for k in params}
        norms.append(opt.step(grads, lr))
    out = opt.state()
    out["grad_norms"] = torch.tensor(norms, dtype=torch.float64)
    write_safetensors(path.replace(".safetensors", ".out.safetensors"), out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for p in sys.argv[1:]:
        run(p)
    print(json.dumps({"torch": torch.__version__, "cases": len(sys.argv) - 1}))
