"""Run the python blocks of one page, in order, in this process: ``python run_blocks.py
SPEC.json``. Each block gets a fresh namespace (so a block a reader copies alone runs alone),
unless it is marked to continue the previous one. Line numbers in tracebacks are the page's.

Exit code 0 when every block ran, 1 on the first failing block (naming it), 3 when blocks were
skipped because an optional framework is not installed (``SKIPPED`` lines name them), as the
rest of the suite skips the tests of a framework that is not installed.
"""
import json
import sys
import traceback

# a block that needs one of these, where it is not installed, is skipped, not failed
OPTIONAL = {"torch", "transformers", "safetensors", "jax", "jaxlib", "flax", "keras", "dask",
            "distributed", "cupy", "tqdm", "tomli"}


def main(path):
    with open(path) as f:
        spec = json.load(f)
    ns, skipped, last_skipped = None, [], False
    for block in spec["blocks"]:
        where = f"{block['file']}:{block['line']}"
        if block["continue"] and last_skipped:
            skipped.append(f"{where} (continues a skipped block)")
            continue
        if ns is None or not block["continue"]:
            ns = {"__name__": "__main__", "__file__": block["file"]}
        # pad with blank lines so that tracebacks give the line in the page
        code = compile("\n" * block["line"] + block["code"], block["file"], "exec")
        try:
            exec(code, ns)
        except ModuleNotFoundError as e:
            if (e.name or "").split(".")[0] not in OPTIONAL:
                traceback.print_exc()
                print(f"\n{where}: this example failed", file=sys.stderr)
                return 1
            skipped.append(f"{where} (needs {e.name}, not installed)")
            last_skipped = True
            continue
        except BaseException:
            traceback.print_exc()
            print(f"\n{where}: this example failed", file=sys.stderr)
            return 1
        last_skipped = False
        print(f"ok {where}", flush=True)
    for s in skipped:
        print(f"SKIPPED {s}", flush=True)
    return 3 if skipped else 0


if __name__ == "__main__":   # Dask's and multiprocessing's children re-import this file
    sys.exit(main(sys.argv[1]))
