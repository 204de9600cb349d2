"""Chebyshev coefficients of erfcx(z) = exp(z^2) erfc(z) on z >= 0, mapped by t = (z - K) / (z + K).

Used by lib/activations/_math.ts. Run: /usr/bin/python3 tools/fit_erfcx.py
Prints the coefficients (highest precision mpmath, 50 digits) and the max relative error of the
truncated series on a dense grid, in float64 arithmetic as JavaScript evaluates it.
"""
import mpmath as mp

mp.mp.dps = 50
K = mp.mpf(3.75)
N = 64


def erfcx(z):
    return mp.exp(z * z) * mp.erfc(z)


def f_of_t(t):
    # t in [-1, 1): z = K (1 + t) / (1 - t)
    if t >= 1:
        return mp.mpf(0)
    z = K * (1 + t) / (1 - t)
    return erfcx(z)


nodes = [mp.cos(mp.pi * (k + mp.mpf(0.5)) / N) for k in range(N)]
vals = [f_of_t(t) for t in nodes]
coef = []
for j in range(N):
    s = mp.fsum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(0.5)) / N) for k in range(N))
    coef.append(2 * s / N)

keep = [float(c) for c in coef]
while abs(keep[-1]) < 1e-18:
    keep.pop()


def clenshaw(t):
    d = dd = 0.0
    for c in reversed(keep[1:]):
        d, dd = 2 * t * d - dd + c, d
    return t * d - dd + 0.5 * keep[0]


Kf = float(K)
worst = 0.0
for i in range(20001):
    z = i * 0.002  # 0 .. 40
    t = (z - Kf) / (z + Kf)
    got = clenshaw(t)
    want = erfcx(mp.mpf(z))
    worst = max(worst, abs((got - want) / want))
print("K =", Kf, "terms =", len(keep), "max rel err =", float(worst))
print("[")
for c in keep:
    print(f"  {c!r},")
print("]")
