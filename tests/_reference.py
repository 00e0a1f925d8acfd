"""An obviously-correct float64 NumPy reference for the engine, used as the test oracle.

It pads with ``numpy.pad`` and sums one shifted, strided slice per kernel tap:
no shared code with imgconv.
"""

import numpy as np


def reference_correlate(
    x, weight, bias=None, *, pads=(0, 0, 0, 0), mode="constant", cval=0.0, stride=(1, 1), dilation=(1, 1), groups=1
):
    """y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * xp[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw] in float64."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    top, bottom, left, right = pads
    extra = {"constant_values": cval} if mode == "constant" else {}
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode, **extra)
    n, _, hp, wp = xp.shape
    o, cg, kh, kw = weight.shape
    sh, sw = stride
    dh, dw = dilation
    hout = (hp - dh * (kh - 1) - 1) // sh + 1
    wout = (wp - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, hout, wout))
    for oc in range(o):
        g = oc // og
        for ci in range(cg):
            for u in range(kh):
                for v in range(kw):
                    tap = xp[
                        :,
                        g * cg + ci,
                        u * dh : u * dh + (hout - 1) * sh + 1 : sh,
                        v * dw : v * dw + (wout - 1) * sw + 1 : sw,
                    ]
                    y[:, oc] += weight[oc, ci, u, v] * tap
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return y


def reference_bound(x, weight, pads, mode, cval, stride, dilation, groups):
    """Sum of |terms| per output, for float32 tolerances that scale with the sum."""
    return reference_correlate(
        np.abs(x), np.abs(weight), pads=pads, mode=mode, cval=abs(cval), stride=stride, dilation=dilation, groups=groups
    )
