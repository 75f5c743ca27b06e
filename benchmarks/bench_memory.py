"""Peak memory of ``score_samples``: typed vs plain columns, 200,000 and 1,000,000 rows.

With typed columns ``score_samples`` evaluates every row at 64 quadrature
points; it maps, scores and integrates the rows in chunks
(``skscore.base.SCORE_CHUNK_ROWS`` model-space rows at a time), so its memory
does not grow with the number of rows beyond the input and the output.
Each case runs in a fresh subprocess, which reports its peak resident set
size (``resource.getrusage``, the whole process: interpreter, NumPy, Numba,
the fitted model, the query rows) before and after ``score_samples``.

The table has 3 columns: a Gaussian one, a count (integer) and a 3-level
categorical one; the model is a small DiffusionRandomFeatures (16 features,
2 steps) fitted on 5,000 rows, so that the cost is the quadrature and not the
network.  ``--unchunked`` sets the chunk beyond the number of rows (one
chunk: the behaviour before chunking) for comparison.  Run::

    python benchmarks/bench_memory.py                      # the four cases, a few minutes
    python benchmarks/bench_memory.py --rows 200000 --unchunked
"""

import argparse
import json
import subprocess
import sys
import time

N_FIT = 5000


def _table(n, rng):
    import numpy as np

    g = rng.standard_normal(n)
    return np.column_stack(
        [g + 0.5 * rng.standard_normal(n), rng.poisson(np.exp(0.5 + 0.3 * g)), (g > 0).astype(float) + (g > 1)]
    )


def run_case(n_rows, typed, unchunked):
    """One case, in this process; prints a JSON line."""
    import resource

    import numpy as np

    import skscore.base
    from skscore import DiffusionRandomFeatures

    if unchunked:
        skscore.base.SCORE_CHUNK_ROWS = 2**62
    rng = np.random.default_rng(0)
    types = {"integer_features": [1], "categorical_features": [2]} if typed else {}
    model = DiffusionRandomFeatures(n_features=16, n_steps=2, random_state=0, **types).fit(_table(N_FIT, rng))
    X = _table(n_rows, rng)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    start = time.perf_counter()
    log_density = model.score_samples(X)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert log_density.shape == (n_rows,) and np.all(np.isfinite(log_density))
    print(json.dumps({"rows": n_rows, "typed": typed, "unchunked": unchunked, "before_mib": before,
                      "peak_mib": after, "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--unchunked", action="store_true", help="one chunk: the memory before chunking")
    parser.add_argument("--case", nargs=2, metavar=("ROWS", "TYPED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(int(args.case[0]), args.case[1] == "1", args.unchunked)
        return
    print(f"{'rows':>9} {'columns':>8} {'chunks':>9} {'RSS before (MiB)':>17} {'peak RSS (MiB)':>15} {'time (s)':>9}")
    for n_rows in args.rows:
        for typed in (False, True):
            command = [sys.executable, __file__, "--case", str(n_rows), "1" if typed else "0"]
            command += ["--unchunked"] if args.unchunked else []
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(
                f"{n_rows:>9} {'typed' if typed else 'plain':>8} {'one' if args.unchunked else 'chunked':>9} "
                f"{result['before_mib']:>17.0f} {result['peak_mib']:>15.0f} {result['seconds']:>9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
