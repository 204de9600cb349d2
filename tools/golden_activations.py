"""Golden values of every built-in activation and its derivative, from mpmath at 160 digits.

An independent definition of each function (written from the formulas, not from the TypeScript),
so tests/activations/reference_test.ts can check the float64 references to ~1e-14. The names and
their order come from the registry (asked through Deno): a built-in without a definition below,
or a definition the registry does not have, stops the script with the name.
Run: /usr/bin/python3 tools/golden_activations.py > tests/activations/golden.json

Output: {"unary": {name: {"limits": [f(-inf), f(+inf)], "dlimits": [f'(-inf), f'(+inf)],
                          "points": [[x, f, f'], ...]}},
         "gated": {name: [[gate, value, f, df/dgate, df/dvalue], ...]},
         "trainable": {name: [{"params": {p: value}, "points": [[x, f, f', df/dp...], ...]}]},
         "rows": {name: [{"params": {...}, "row": [...], "dy": [...], "y": [...],
                          "dx": [...], "dparams": {p: d<dy, f>/dp}}]}}, numbers as strings
(25 digits; "Infinity" where the limit is infinite). Trainable activations appear in "unary" at
their initial parameters; PolyNorm, which normalises over a row, there as its curve at unit RMS.
"""
import json
import pathlib
import subprocess
import sys

import mpmath as mp

mp.mp.dps = 160  # the tanh form needs ~70 digits to resolve 1 + tanh(u) at x = -12.5
SELU_L = mp.mpf("1.0507009873554804934193349852946")
SELU_A = mp.mpf("1.6732632423543772848170429916717")
C = mp.sqrt(2 / mp.pi)


def sig(x):
    return 1 / (1 + mp.exp(-x))


def sp(x):
    return mp.log1p(mp.exp(x))


def Phi(x):
    return mp.ncdf(x)


RELU2_SMOOTH_A = mp.mpf("0.2")  # nanochat issue #828
LAPLACE_MU = mp.mpf("0.707107")  # Hugging Face's LaplaceActivation defaults
LAPLACE_SIGMA = mp.mpf("0.282095")


def laplace(x):
    # 0.5(1 + erf(w)) = 0.5 erfc(-w): the erfc form keeps the lower tail (1e-164 at x = -7)
    return mp.erfc(-(x - LAPLACE_MU) / (LAPLACE_SIGMA * mp.sqrt(2))) / 2


def f32(x):
    """The float32 nearest x (round to nearest even), as an exact mpf."""
    import struct
    return mp.mpf(struct.unpack("f", struct.pack("f", float(x)))[0])


PRELU_A = mp.mpf("0.25")  # PyTorch's nn.PReLU init
XIELU_BETA = mp.mpf("0.5")
XIELU_EPS = f32(-1e-6)  # the float32 value a float32 graph holds
XIELU_P0 = float(mp.log(mp.expm1(mp.mpf("0.8"))))  # raw init: softplus^-1(0.8), as float64
XIELU_N0 = float(mp.log(mp.expm1(mp.mpf("0.3"))))  # softplus^-1(0.8 - beta)


def prelu(x, a=PRELU_A):
    return x if x > 0 else a * x


def xielu(x, raw_p=XIELU_P0, raw_n=XIELU_N0):
    ap = sp(mp.mpf(raw_p))
    an = XIELU_BETA + sp(mp.mpf(raw_n))
    if x > 0:
        return ap * x * x + XIELU_BETA * x
    return an * (mp.expm1(min(x, XIELU_EPS)) - x) + XIELU_BETA * x


def polynorm_curve(x, w1=mp.mpf(1) / 3, w2=mp.mpf(1) / 3, w3=mp.mpf(1) / 3, b=0):
    return w1 * x + w2 * x**2 + w3 * x**3 + b


def polynorm_row(row, w1, w2, w3, b, eps=mp.mpf(1e-6)):  # PolyCom eps, as float64
    n = len(row)
    y = [mp.mpf(b)] * n
    for k, w in ((1, w1), (2, w2), (3, w3)):
        p = [x**k for x in row]
        r = 1 / mp.sqrt(sum(t * t for t in p) / n + eps)
        y = [yi + w * pi * r for yi, pi in zip(y, p)]
    return y


UNARY = {
    "identity": lambda x: x,
    "relu": lambda x: max(x, 0),
    "relu6": lambda x: min(max(x, 0), 6),
    "leaky_relu": lambda x: x if x > 0 else mp.mpf("0.01") * x,
    "elu": lambda x: x if x > 0 else mp.expm1(x),
    "selu": lambda x: SELU_L * (x if x > 0 else SELU_A * mp.expm1(x)),
    "celu": lambda x: x if x > 0 else mp.expm1(x),
    "gelu": lambda x: x * Phi(x),
    "gelu_tanh": lambda x: x / 2 * (1 + mp.tanh(C * (x + mp.mpf("0.044715") * x**3))),
    "quick_gelu": lambda x: x * sig(mp.mpf("1.702") * x),
    "silu": lambda x: x * sig(x),
    "mish": lambda x: x * mp.tanh(sp(x)),
    "hardswish": lambda x: x * min(max(x + 3, 0), 6) / 6,
    "hardsigmoid": lambda x: min(max(x + 3, 0), 6) / 6,
    "softplus": sp,
    "squareplus": lambda x: (x + mp.sqrt(x**2 + 4)) / 2,
    "sparse_plus": lambda x: mp.mpf(0) if x <= -1 else x if x >= 1 else (x + 1) ** 2 / 4,
    "sigmoid": sig,
    "log_sigmoid": lambda x: -mp.log1p(mp.exp(-x)),
    "laplace": laplace,
    "tanh": mp.tanh,
    "softsign": lambda x: x / (1 + abs(x)),
    "hardtanh": lambda x: min(max(x, -1), 1),
    "relu2": lambda x: max(x, 0) ** 2,
    "leaky_relu2": lambda x: (x if x > 0 else mp.mpf("0.5") * x) ** 2,
    "relu6_2": lambda x: min(max(x, 0), 6) ** 2,
    "relu2_smooth": lambda x: x * (x + mp.sqrt(x**2 + RELU2_SMOOTH_A**2)) / 2,
    "prelu": prelu,
    "xielu": xielu,
    "polynorm": polynorm_curve,
}

# Trainable activations at other parameter values: f, f' and df/dp for each parameter, in the
# order the registry declares them.
TRAINABLE = {
    "prelu": (["a"], prelu, [[0.1], [-0.3]]),
    "xielu": (["alpha_p_raw", "alpha_n_raw"], xielu, [[0.3, -1.2], [-0.5, 0.7]]),
}
ROWS = [
    ({"w1": 1 / 3, "w2": 1 / 3, "w3": 1 / 3, "b": 0.0}, [-1.5, -0.25, 0.5, 2.0],
     [1.0, 1.0, 1.0, 1.0]),
    ({"w1": 0.7, "w2": -0.2, "w3": 0.05, "b": 0.1}, [-1.5, -0.25, 0.5, 2.0, 0.125, -3.0],
     [0.3, -1.0, 2.0, 0.5, -0.75, 1.25]),
]

GATED = {
    "glu": lambda g, v: sig(g) * v,
    "bilinear": lambda g, v: g * v,
    "reglu": lambda g, v: max(g, 0) * v,
    "geglu": lambda g, v: g * Phi(g) * v,
    "swiglu": lambda g, v: g * sig(g) * v,
    "gtu": lambda g, v: sig(g) * mp.tanh(v),
}

POINTS = ["-30", "-12.5", "-7", "-4.25", "-3.5", "-2", "-1", "-0.7", "-0.3125", "-1e-3",
          "-1e-8", "1e-8", "1e-3", "0.3125", "0.7", "1", "1.5", "2", "2.75", "4.25", "5.5", "7",
          "9", "12.5", "30"]

GATES = ["-4.25", "-1", "-0.3125", "1e-3", "0.7", "2", "5.5"]
VALUES = ["-1.5", "0.5", "3"]
HUGE = mp.mpf(10) ** 50  # f(±HUGE) stands for the limit at ±inf


def registry_names():
    """The registry's built-in activations by kind, in its order (via Deno)."""
    code = (
        'import { isBuiltinActivation, listActivations } from "./lib/activations/mod.ts";'
        'const names = (kind) => listActivations({ kind }).map((d) => d.name)'
        "  .filter(isBuiltinActivation);"
        'console.log(JSON.stringify({ unary: names("unary"), gated: names("gated") }));'
    )
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run(["deno", "eval", code], cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"could not list the registry through `deno eval`:\n{out.stderr}")
    return json.loads(out.stdout)


def limit(y):
    """A value at x = +-HUGE as the limit it stands for: 0 below 1e-40, +-inf above 1e40."""
    if abs(y) < mp.mpf(10) ** -40:
        return "0" if y >= 0 else "-0"
    return num(y)


def num(y):
    if abs(y) > 1e40:
        return "Infinity" if y > 0 else "-Infinity"
    if 0 < abs(y) < mp.mpf(10) ** -400:  # beyond float64: the limit 0, from its side
        return "0" if y > 0 else "-0"
    return mp.nstr(y, 25, min_fixed=-1, max_fixed=1)


names = registry_names()
for kind, table in (("unary", UNARY), ("gated", GATED)):
    missing = [n for n in names[kind] if n not in table]
    extra = [n for n in table if n not in names[kind]]
    if missing or extra:
        sys.exit(
            f"{kind}: the registry has {missing or 'no others'} without an mpmath definition here, "
            f"and {extra or 'none'} defined here are not in the registry: edit "
            f"{'UNARY' if kind == 'unary' else 'GATED'} in tools/golden_activations.py"
        )

unary = {}
for name in names["unary"]:
    f = UNARY[name]
    rows = []
    for p in POINTS:
        x = mp.mpf(float(p))  # the float64 the test passes in, exactly
        rows.append([float(x), num(f(x)), num(mp.diff(f, x))])
    unary[name] = {
        "limits": [limit(f(-HUGE)), limit(f(HUGE))],
        "dlimits": [limit(mp.diff(f, -HUGE)), limit(mp.diff(f, HUGE))],
        "points": rows,
    }

gated = {}
for name in names["gated"]:
    f = GATED[name]
    rows = []
    for gs in GATES:
        for vs in VALUES:
            g, v = mp.mpf(float(gs)), mp.mpf(float(vs))
            dg = mp.diff(lambda t: f(t, v), g)
            dv = mp.diff(lambda t: f(g, t), v)
            rows.append([float(g), float(v), num(f(g, v)), num(dg), num(dv)])
    gated[name] = rows


trainable = {}
for name, (pnames, f, settings) in TRAINABLE.items():
    entries = []
    for values in settings:
        rows = []
        for p in POINTS:
            x = mp.mpf(float(p))
            row = [float(x), num(f(x, *values)), num(mp.diff(lambda t: f(t, *values), x))]
            for k in range(len(values)):
                def along(t, k=k):
                    v = list(values)
                    v[k] = t
                    return f(x, *v)
                row.append(num(mp.diff(along, mp.mpf(values[k]))))
            rows.append(row)
        entries.append({"params": dict(zip(pnames, values)), "points": rows})
    trainable[name] = entries

polyrows = []
for params, row, dy in ROWS:
    ws = [mp.mpf(params[k]) for k in ("w1", "w2", "w3", "b")]
    xs = [mp.mpf(x) for x in row]
    y = polynorm_row(xs, *ws)

    def inner(xs_, ws_):
        return sum(mp.mpf(d) * yi for d, yi in zip(dy, polynorm_row(xs_, *ws_)))

    dx = []
    for i in range(len(xs)):
        def along_x(t, i=i):
            v = list(xs)
            v[i] = t
            return inner(v, ws)
        dx.append(num(mp.diff(along_x, xs[i])))
    dparams = {}
    for k, key in enumerate(("w1", "w2", "w3", "b")):
        def along_w(t, k=k):
            v = list(ws)
            v[k] = t
            return inner(xs, v)
        dparams[key] = num(mp.diff(along_w, ws[k]))
    polyrows.append({"params": params, "row": row, "dy": dy, "y": [num(t) for t in y],
                     "dx": dx, "dparams": dparams})


def block(table):
    return ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in table.items())


print('{\n  "unary": {\n' + block(unary) + '\n  },\n  "gated": {\n' + block(gated) +
      '\n  },\n  "trainable": {\n' + block(trainable) + '\n  },\n  "rows": {\n' +
      block({"polynorm": polyrows}) + "\n  }\n}")
