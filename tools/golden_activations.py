"""Golden values of every built-in activation and its derivative, from mpmath at 160 digits.

An independent definition of each function (written from the formulas, not from the TypeScript),
so tests/activations/reference_test.ts can check the float64 references to ~1e-14.
Run: /usr/bin/python3 tools/golden_activations.py > tests/activations/golden.json
"""
import json

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
    "sigmoid": sig,
    "tanh": mp.tanh,
    "softsign": lambda x: x / (1 + abs(x)),
    "hardtanh": lambda x: min(max(x, -1), 1),
    "relu2": lambda x: max(x, 0) ** 2,
    "relu6_2": lambda x: min(max(x, 0), 6) ** 2,
}

POINTS = ["-30", "-12.5", "-7", "-4.25", "-3.5", "-2", "-1", "-0.7", "-0.3125", "-1e-3",
          "-1e-8", "1e-8", "1e-3", "0.3125", "0.7", "1", "1.5", "2", "2.75", "4.25", "5.5", "7",
          "9", "12.5", "30"]

out = {}
for name, f in UNARY.items():
    rows = []
    for p in POINTS:
        x = mp.mpf(float(p))  # the float64 the test passes in, exactly
        y = f(x)
        d = mp.diff(f, x)
        rows.append([float(x), mp.nstr(y, 25, min_fixed=-1, max_fixed=1), mp.nstr(d, 25, min_fixed=-1, max_fixed=1)])
    out[name] = rows
lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()]
print("{\n" + ",\n".join(lines) + "\n}")
