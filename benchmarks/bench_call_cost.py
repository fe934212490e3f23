"""What a call costs, from one element to a quarter of a gigabyte: fastinit against torch and
NumPy on the same buffer, and a whole ResNet-50 re-initialized in place.

``SizeSweep`` tracks nanoseconds per element of a float32 normal fill in place (std 0.02) at
every size, for ``fastinit.normal_`` on a NumPy array, ``fastinit.torch.normal_`` and
``torch.nn.init.normal_`` on a torch tensor sharing it, NumPy's ``Generator.standard_normal``
and the write floor (a parallel write of a constant): small sizes show the fixed cost of a
call, large ones the cost per element. ``ResNet50Reinit`` times ``materialize(model,
device=None)`` against calling every module's own ``reset_parameters`` (torchvision's
ResNet-50 layer shapes, written out here: torchvision is not a dependency).

Run by hand for a table: ``python -m benchmarks.bench_call_cost`` (from the repository root).
"""
import time

import numpy as np

import fastinit as fi
from fastinit import _peers

from .bench_elementwise import ns_per_element, touched, write_floor

SIZES = [1, 16, 256, 4096, 65536, 2**20, 2**24, 2**26]
IMPLS = ["fastinit", "fastinit.torch", "torch", "numpy", "write floor"]


def _median_ns(fn, n, budget=0.2, least=5):
    """``ns_per_element`` over as many repeats as fill about ``budget`` seconds."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return ns_per_element(fn, n, max(least, min(20000, int(budget / once))))


class SizeSweep:
    params = (SIZES, IMPLS)
    param_names = ["size", "impl"]
    unit = "ns/element"
    timeout = 600

    def setup(self, size, impl):
        self.buf = touched((size,), np.float32)
        if impl == "fastinit":
            self.fn = lambda: fi.normal_(self.buf, std=_peers.STD, seed=0)
        elif impl == "numpy":
            rng = np.random.default_rng(0)
            self.fn = lambda: rng.standard_normal(dtype=np.float32, out=self.buf)
        elif impl == "write floor":
            self.fn = lambda: write_floor(self.buf)
        else:
            torch = _peers.import_torch()
            if torch is None:
                raise NotImplementedError("torch is not installed")
            t = torch.from_numpy(self.buf)
            if impl == "torch":
                self.fn = lambda: torch.nn.init.normal_(t, std=_peers.STD)
            else:
                import fastinit.torch as ft
                self.fn = lambda: ft.normal_(t, std=_peers.STD, seed=0)
        self.fn()

    def track_normal_(self, size, impl):
        return _median_ns(self.fn, size)


def resnet50():
    """ResNet-50 with torchvision's layer shapes (conv, batch norm, linear), as the plain
    modules whose ``reset_parameters`` torch runs; 25.6M parameters."""
    from torch import nn
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)]
    inplanes = 64
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for b in range(blocks):
            layers += [nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes),
                       nn.Conv2d(planes, planes, 3, padding=1, bias=False),
                       nn.BatchNorm2d(planes),
                       nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)]
            if b == 0:  # the downsample branch
                layers += [nn.Conv2d(inplanes, planes * 4, 1, bias=False),
                           nn.BatchNorm2d(planes * 4)]
            inplanes = planes * 4
    layers.append(nn.Linear(2048, 1000))
    return nn.Sequential(*layers)


class ResNet50Reinit:
    params = ["fastinit", "torch"]
    param_names = ["impl"]
    unit = "ms"
    timeout = 600

    def setup(self, impl):
        torch = _peers.import_torch()
        if torch is None:
            raise NotImplementedError("torch is not installed")
        import fastinit.torch as ft
        self.model = resnet50()
        modules = [m for m in self.model.modules() if hasattr(m, "reset_parameters")]
        if impl == "fastinit":
            self.fn = lambda: ft.materialize(self.model, seed=0, device=None)
        else:
            def reset():
                for m in modules:
                    m.reset_parameters()
            self.fn = reset
        self.fn()

    def track_reinit(self, impl):
        return _median_ns(self.fn, 1, budget=2.0) / 1e6


def svg_chart(sizes, series, title):
    """A log-log line chart (ns per element against elements) as an SVG document: one line
    per entry of ``series`` (name -> values), no plotting library needed."""
    import math
    w, h, left, right, top, bottom = 720, 440, 70, 170, 40, 50
    xs = [math.log10(n) for n in sizes]
    ys = [math.log10(v) for vals in series.values() for v in vals if v > 0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))

    def px(x):
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def py(y):
        return top + (y1 - y) / (y1 - y0) * (h - top - bottom)

    colors = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#7f7f7f", "#9467bd"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{title}</text>']
    for e in range(y0, y1 + 1):
        y = py(e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{left - 8}" y="{y + 4:.1f}" '
                   f'text-anchor="end">1e{e}</text>')
    for n, x in zip(sizes, xs):
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 18}" text-anchor="middle">'
                   f'{n if n < 1024 else "2^%d" % round(math.log2(n))}</text>')
    out.append(f'<text x="{(left + w - right) / 2:.0f}" y="{h - 12}" text-anchor="middle">'
               f'elements</text>')
    out.append(f'<text x="16" y="{(top + h - bottom) / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + h - bottom) / 2:.0f})">ns per element</text>')
    for k, (name, vals) in enumerate(series.items()):
        pts = " ".join(f"{px(x):.1f},{py(math.log10(v)):.1f}" for x, v in zip(xs, vals))
        c = colors[k % len(colors)]
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        ly = top + 16 * k + 10
        out.append(f'<line x1="{w - right + 12}" y1="{ly}" x2="{w - right + 32}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"/><text x="{w - right + 38}" '
                   f'y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="the size sweep and ResNet-50 re-init")
    parser.add_argument("--svg", help="also write the sweep as a log-log chart to this file")
    args = parser.parse_args()
    print("size".rjust(10), *(i.rjust(15) for i in IMPLS))
    table = {impl: [] for impl in IMPLS}
    for size in SIZES:
        row = []
        for impl in IMPLS:
            b = SizeSweep()
            b.setup(size, impl)
            row.append(b.track_normal_(size, impl))
            table[impl].append(row[-1])
        print(str(size).rjust(10), *(f"{v:15.3f}" for v in row))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg_chart(SIZES, table, "float32 normal_ in place: ns per element"))
    r = {}
    for impl in ResNet50Reinit.params:
        b = ResNet50Reinit()
        b.setup(impl)
        r[impl] = b.track_reinit(impl)
    print(f"ResNet-50 re-init: fastinit {r['fastinit']:.1f} ms, torch reset_parameters "
          f"{r['torch']:.1f} ms ({r['torch'] / r['fastinit']:.2f}x)")
