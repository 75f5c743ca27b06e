"""Large data: DiffusionRandomFeatures fitted on a lazily generated dask table, against the in-memory fit.

A table of ``--rows`` rows of the 8-D banana-skew law
(:class:`skscore.datasets.BananaSkewLaw`) is produced lazily as a dask
array, partition by partition from a seed per partition, and never
materialized; the model is fitted on it partition by partition.  Each case
runs in a fresh subprocess that reports its fit time and the peak resident
set size (``resource.getrusage``).  With ``--compare`` the same rows are
also generated in memory and fitted there, and the two models are compared:
they should agree up to the order of floating-point sums.  The held-out
gap to the true log-likelihood (20,000 rows) is reported for each.

What issue 18 asks: 10,000,000 rows fitted lazily with a peak of at most
2 GB, the same model as an in-memory fit of the same data.

Usage::

    python benchmarks/bench_large_data.py                        # 10^7 rows, lazily (minutes on 2 cores)
    python benchmarks/bench_large_data.py --rows 1000000 --compare
    python benchmarks/bench_large_data.py --workers 2            # on a two-worker dask.distributed LocalCluster
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PARTITION_ROWS = 1_000_000
N_TEST = 20_000


def _partition(n_rows, start):
    from skscore.datasets import BananaSkewLaw

    return BananaSkewLaw().sample(n_rows, random_state=1_000 + start // PARTITION_ROWS)


def run_case(mode, n_rows, workers, out):
    import resource

    import numpy as np

    from skscore import DiffusionRandomFeatures
    from skscore.datasets import BananaSkewLaw

    sizes = [
        min(PARTITION_ROWS, n_rows - start)
        for start in range(0, n_rows, PARTITION_ROWS)
    ]
    if mode == "lazy":
        import dask.array as da

        def block(block_info=None):
            location = block_info[None]["array-location"][0]
            return _partition(location[1] - location[0], location[0])

        X = da.map_blocks(block, chunks=(tuple(sizes), (8,)), dtype=np.float64)
    else:
        X = np.vstack(
            [
                _partition(size, start)
                for start, size in zip(range(0, n_rows, PARTITION_ROWS), sizes)
            ]
        )
    client = None
    if workers:
        from distributed import Client, LocalCluster

        client = Client(
            LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=None
            )
        )
    model = DiffusionRandomFeatures(random_state=0)
    start = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - start
    if client is not None:
        client.close()
    law = BananaSkewLaw()
    X_test = law.sample(N_TEST, random_state=7)
    gap = float(law.logpdf(X_test).mean() - model.score_samples(X_test).mean())
    np.savez(
        out,
        theta2=model.theta2_,
        theta1=model.theta1_,
        loss=model.loss_curve_,
        test=model.score_samples(X_test),
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "mode": mode,
                "n": n_rows,
                "features": model.n_random_features_,
                "fit_s": fit_s,
                "peak_mib": peak_mib,
                "gap": gap,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also fit the same rows in memory and compare",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="dask.distributed workers (0: no cluster)",
    )
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        mode, n_rows, out = args.case
        return run_case(mode, int(n_rows), args.workers, out)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("lazy", "memory") if args.compare else ("lazy",):
            out = os.path.join(folder, mode + ".npz")
            command = [
                sys.executable,
                __file__,
                "--workers",
                str(args.workers if mode == "lazy" else 0),
                "--case",
                mode,
                str(args.rows),
                out,
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                print(f"{mode}: failed\n{done.stderr[-2000:]}")
                return 1
            rows[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{mode:<7} n={rows[mode]['n']:>10,}  N={rows[mode]['features']}  fit {rows[mode]['fit_s']:7.1f} s  "
                f"peak {rows[mode]['peak_mib']:7.0f} MiB  gap {rows[mode]['gap']:.4f} nats",
                flush=True,
            )
            rows[mode]["arrays"] = out
        if args.compare:
            import numpy as np

            lazy, memory = (np.load(rows[m]["arrays"]) for m in ("lazy", "memory"))
            scale = np.abs(memory["theta2"]).max()
            print(
                f"largest difference: theta2 {np.abs(lazy['theta2'] - memory['theta2']).max() / scale:.2e} "
                f"(relative), held-out log-density {np.abs(lazy['test'] - memory['test']).max():.2e} nats"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
