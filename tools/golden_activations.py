"""Golden values of every built-in activation and its derivative, from mpmath at 160 digits.

An independent definition of each function (written from the formulas, not from the TypeScript),
so tests/activations/reference_test.ts can check the float64 references to ~1e-14. The names and
their order come from the registry (asked through Deno): a built-in without a definition below,
or a definition the registry does not have, stops the script with the name.
Run: /usr/bin/python3 tools/golden_activations.py > tests/activations/golden.json

Output: {"unary": {name: {"limits": [f(-inf), f(+inf)], "dlimits": [f'(-inf), f'(+inf)],
                          "points": [[x, f, f'], ...]}},
         "gated": {name: [[gate, value, f, df/dgate, df/dvalue], ...]}}, numbers as strings
(25 digits; "Infinity" where the limit is infinite).
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


LAPLACE_MU = mp.mpf("0.707107")  # Hugging Face's LaplaceActivation defaults
LAPLACE_SIGMA = mp.mpf("0.282095")


def laplace(x):
    # 0.5(1 + erf(w)) = 0.5 erfc(-w): the erfc form keeps the lower tail (1e-164 at x = -7)
    return mp.erfc(-(x - LAPLACE_MU) / (LAPLACE_SIGMA * mp.sqrt(2))) / 2


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
}

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


def block(table):
    return ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in table.items())


print('{\n  "unary": {\n' + block(unary) + '\n  },\n  "gated": {\n' + block(gated) + "\n  }\n}")
