"""Record a run of the call-cost sweep as a data file for the performance page's plot.

From the repository root (a minute or two; the figures want a quiet machine)::

    python docs/measure.py docs/data/call_cost-<date>.json --machine "2-core ... VM"

It runs ``benchmarks/bench_call_cost.py``'s ``SizeSweep`` (fastinit, fastinit.torch,
torch.nn.init, NumPy's Generator and the write floor at every size) and writes what
``docs/plots.py`` reads: what was measured, the date, the machine, the software, the command,
the method and the figures. Then point ``CALL_COST`` in ``docs/plots.py`` at the new file.
"""
import json
import os
import sys


def measure(path, machine, budget=0.2):
    """Run benchmarks/bench_call_cost.py's SizeSweep and write it as a data file."""
    import datetime
    import platform
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    import numba
    import numpy as np
    import fastinit
    from benchmarks import bench_call_cost as bcc
    series = {"fastinit": "fastinit (NumPy array)", "fastinit.torch": "fastinit.torch",
              "torch": "torch.nn.init", "numpy": "NumPy Generator",
              "write floor": "write floor"}
    load_before = os.getloadavg()[0]
    table = {label: [] for label in series.values()}
    for size in bcc.SIZES:
        for impl, label in series.items():
            b = bcc.SizeSweep()
            try:
                b.setup(size, impl)
            except NotImplementedError:
                table.pop(label, None)
                continue
            table[label].append(round(bcc._median_ns(b.fn, size, budget=budget), 4))
        print(size, {k: v[-1] for k, v in table.items() if v}, flush=True)
    try:
        import torch
        torch_version = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_version = ""
    run = {
        "what": "float32 normal_(std=0.02) in place into a touched buffer: nanoseconds per "
                "element against the number of elements",
        "date": datetime.date.today().isoformat(),
        "machine": machine or platform.processor() or platform.machine(),
        "software": f"fastinit {fastinit.__version__}, Numba {numba.__version__} on the "
                    f"{numba.threading_layer()} layer, NumPy {np.__version__}{torch_version}",
        "command": "python docs/measure.py " + os.path.relpath(path, root),
        "method": f"benchmarks/bench_call_cost.py SizeSweep: median of repeats filling about "
                  f"{budget} s each; load average before the run "
                  f"{load_before:.1f}",
        "unit": "ns/element",
        "sizes": bcc.SIZES,
        "series": table,
    }
    with open(path, "w") as f:
        json.dump(run, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the data file to write, docs/data/call_cost-<date>.json")
    parser.add_argument("--machine", default="", help="a description of this machine")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per size and peer")
    args = parser.parse_args()
    measure(args.path, args.machine, args.budget)
