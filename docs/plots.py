"""The performance page's plots, drawn at build time from committed benchmark runs.

``docs/data/*.json`` hold the runs: what was measured, the date, the machine, the software,
the command and the figures. The performance page's ``.. plot:: plots.py plot_call_cost`` and
``plot_floors`` directives (matplotlib's plot directive, configured in ``conf.py``) draw the
runs named by ``CALL_COST`` and ``FLOORS``, so the images are never committed.

A new run of the call-cost sweep is recorded by ``docs/measure.py``; point ``CALL_COST`` at
its file (keep the old one: figures are dated).
"""
import json
import math
import os

# the plot directive runs this file's source with no __file__, in the file's folder
DATA = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "plots.py"))),
                    "data")


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def _size_label(n):
    return str(n) if n < 1024 else f"$2^{{{round(math.log2(n))}}}$"


def call_cost(name):
    """ns per element against elements, log-log: fastinit, the peers and the write floor."""
    import matplotlib.pyplot as plt
    run = load(name)
    sizes = run["sizes"]
    fig, ax = plt.subplots()
    styles = {"write floor": dict(color="0.4", linestyle="--")}
    for label, values in run["series"].items():
        ax.plot(sizes, values, marker="o", markersize=3, label=label,
                **styles.get(label, {}))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [_size_label(n) for n in sizes])
    ax.set_xlabel("elements")
    ax.set_ylabel(f"{run['unit']} (lower is better)")
    ax.set_title(f"float32 normal_ in place, {run['date']}", fontsize=10)
    ax.grid(True, which="major", color="0.9")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, f"{run['machine']}; {run['command']}", fontsize=6, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def floors(name):
    """Each kernel and peer in ns per element, as a line from the write floor to its figure
    (log scale), with the write floor and the arithmetic floors as vertical lines."""
    import matplotlib.pyplot as plt
    run = load(name)
    floor = run["write_floor"]
    rows = [(k, v, "C0") for k, v in run["kernels"].items()]
    rows += [(k, v, "C1") for k, v in run["peers"].items()]
    rows = rows[::-1]
    fig, ax = plt.subplots()
    for y, (label, v, color) in enumerate(rows):
        ax.hlines(y, floor, v, color=color, linewidth=3)
        ax.plot([v], [y], "o", color=color)
        ax.text(v * 1.08, y, f"{v:g} ({v / floor:.1f}x)", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.axvline(floor, color="0.3", linestyle="--", label=f"write floor {floor:g}")
    for (law, v), style in zip(run["arithmetic_floor"].items(), (":", "-.")):
        ax.axvline(v, color="C2", linestyle=style, label=f"arithmetic floor, {law} {v:g}")
    ax.set_xscale("log")
    ax.set_xlim(floor * 0.8, max(r[1] for r in rows) * 3)
    ax.set_xlabel(f"{run['unit']} (lower is better; in brackets: times the write floor)")
    ax.set_title(f"16384 x 16384 float32 in place, {run['date']}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.text(0.01, 0.01, run["machine"], fontsize=6, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


# the runs the performance page plots (its directives name these functions)
CALL_COST = "call_cost-2026-12-05.json"
FLOORS = "floors-2026-11-30.json"


def plot_call_cost():
    call_cost(CALL_COST)


def plot_floors():
    floors(FLOORS)
