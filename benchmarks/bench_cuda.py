"""DiffusionRandomFeatures on the GPU (numba.cuda kernels) next to the CPU kernels.

For each n (default 10^5, 3 10^5 and 10^6 rows of the 8-D known-answer
mixture) it times, side by side in one run, ``fit``, ``sample(n)`` and
``score_samples(n)`` with ``device='cpu'`` and ``device='cuda'`` (one untimed
warm-up per device first: Numba compilation, CUDA context), and prints rows
per second and the GPU / CPU speed-up.  ``fit`` runs on the CPU for both
devices (see doc/user_guide/gpu.rst); it is timed for both all the same.
Then the fused projection kernel alone (``sin(z W + b) * gate @ theta2`` plus
the linear term, with and without the divergence) is timed with CUDA events
on device-resident rows and its FP64 rate compared with the GPU's FP64 peak
(estimated from the compute capability, the number of multiprocessors and the
clock rate).

Without a usable GPU it says so and exits 0.  ``--small`` runs tiny shapes,
for instance under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) to check
that the script runs; simulator timings say nothing about a GPU.

Usage::

    python benchmarks/bench_cuda.py [--n 100000 300000 1000000] [--d 8] [--repeat 1]
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda.py --small
"""

import argparse
import os
import time

import numpy as np

from skscore import DiffusionRandomFeatures
from skscore._kernels import cuda as kc
from skscore.datasets import correlated_mixture_8d

# FP64 fused multiply-adds per multiprocessor per clock, by compute capability
# (CUDA programming guide, arithmetic instructions throughput table)
_FP64_FMA_PER_SM_CLOCK = {(6, 0): 32, (7, 0): 32, (8, 0): 32, (9, 0): 64}
_FP64_FMA_CONSUMER = 2  # GeForce-class parts: 1/64 of the FP32 rate


def device_description():
    """Name, compute capability and estimated FP64 peak (FLOP/s, or None) of the current GPU."""
    cuda = kc._cuda()
    if kc._SIMULATOR:
        return "Numba CUDA simulator", None, None
    device = cuda.get_current_device()
    cc = tuple(device.compute_capability)
    name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    try:
        sms = device.MULTIPROCESSOR_COUNT
        clock_hz = device.CLOCK_RATE * 1e3  # kHz
    except Exception:  # pragma: no cover - attribute missing on some drivers
        return name, cc, None
    per_sm = _FP64_FMA_PER_SM_CLOCK.get(cc, _FP64_FMA_CONSUMER)
    return name, cc, 2.0 * per_sm * sms * clock_hz


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best(fn, repeat):
    return min(timed(fn)[0] for _ in range(repeat))


def make_model(args, device, sampler="heun"):
    return DiffusionRandomFeatures(
        n_features=args.n_features, n_steps=args.n_steps, sampler=sampler, random_state=0, device=device
    )


def draw_data(args, n, seed):
    if args.d == 8:
        return correlated_mixture_8d(0).sample(n, random_state=seed)
    return np.random.default_rng(seed).standard_normal((n, args.d))


def end_to_end(args):
    print(f"\nEnd to end: fit, sample(n) and score_samples(n); best of {args.repeat}; "
          f"d={args.d}, n_features={args.n_features}, n_steps={args.n_steps}")
    warm = draw_data(args, 500, 0)
    for device in ("cpu", "cuda"):  # untimed: compilation, CUDA context, BLAS start-up
        for sampler in args.samplers:
            model = make_model(args, device, sampler).fit(warm)
            model.sample(200, random_state=0)
        model.score_samples(warm[:200])
    header = (f"{'n':>9} {'operation':<22} {'CPU s':>9} {'GPU s':>9} {'CPU rows/s':>12} {'GPU rows/s':>12} "
              f"{'GPU/CPU':>8}")
    print(header)
    print("-" * len(header))
    for n in args.n:
        X_train, X_test = draw_data(args, n, 1), draw_data(args, n, 2)
        times = {}
        for device in ("cpu", "cuda"):
            if device == "cpu" and n > args.cpu_max_n:
                continue
            times[("fit", device)] = best(lambda: make_model(args, device).fit(X_train), args.repeat)
            for sampler in args.samplers:
                model = make_model(args, device, sampler).fit(X_train)
                times[(f"sample {sampler}", device)] = best(lambda: model.sample(n, random_state=0), args.repeat)
            times[("score_samples", device)] = best(lambda: model.score_samples(X_test), args.repeat)
        for op in ["fit"] + [f"sample {s}" for s in args.samplers] + ["score_samples"]:
            cpu, gpu = times.get((op, "cpu")), times[(op, "cuda")]
            cpu_s = f"{cpu:9.3f}" if cpu is not None else f"{'skipped':>9}"
            cpu_rate = f"{n / cpu:12.4g}" if cpu is not None else f"{'':>12}"
            ratio = f"{cpu / gpu:8.1f}" if cpu is not None else f"{'':>8}"
            print(f"{n:>9} {op:<22} {cpu_s} {gpu:9.3f} {cpu_rate} {n / gpu:12.4g} {ratio}")
    print("(fit runs on the CPU for both devices; GPU/CPU is the speed-up, CPU time over GPU time)")


def projection_throughput(args):
    cuda = kc._cuda()
    n = max(args.n)
    model = make_model(args, "cpu").fit(draw_data(args, min(n, 20000), 3))
    network = model.diffusion_.predictor.device_network()
    Z = np.ascontiguousarray(model._standardize(draw_data(args, n, 4)))
    d, N = Z.shape[1], args.n_features
    name, cc, peak = device_description()
    with kc._quiet():
        z = cuda.to_device(Z)
        eps, div = cuda.device_array_like(z), cuda.device_array(n)
        rows = []
        for label, div_out in (("predictor", None), ("predictor + divergence", div)):
            network.predict(z, 0, eps, div_out)  # warm-up
            cuda.synchronize()
            if kc._SIMULATOR:  # no CUDA events in the simulator
                seconds = best(lambda: network.predict(z, 0, eps, div_out), args.repeat)
            else:
                start, stop = cuda.event(timing=True), cuda.event(timing=True)
                seconds = np.inf
                for _ in range(args.repeat):
                    start.record()
                    network.predict(z, 0, eps, div_out)
                    stop.record()
                    stop.synchronize()
                    seconds = min(seconds, cuda.event_elapsed_time(start, stop) / 1e3)
            # multiply-adds counted as 2 FLOP: z W, the gated features times
            # theta2, the linear term, and the divergence's sum (sin, cos not counted)
            flops = n * (4 * N * d + 2 * d * d + (2 * N if div_out is not None else 0))
            rows.append((label, seconds, flops))
    print(f"\nFused projection kernel on {n} device-resident rows (d={d}, N={N}), "
          f"{name}{'' if cc is None else f', compute capability {cc[0]}.{cc[1]}'}")
    header = f"  {'kernel':<24} {'ms':>9} {'GFLOP/s':>9} {'features/s':>12} {'of FP64 peak':>13}"
    print(header)
    for label, seconds, flops in rows:
        share = f"{100 * flops / seconds / peak:12.1f}%" if peak else f"{'n/a':>13}"
        print(f"  {label:<24} {1e3 * seconds:9.3f} {flops / seconds / 1e9:9.2f} {n * N / seconds:12.4g} {share}")
    if peak:
        print(f"  FP64 peak (estimate: FMA rate x multiprocessors x clock): {peak / 1e12:.2f} TFLOP/s; "
              "each feature also costs a sin (and a cos), which the FLOP count leaves out")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 300_000, 1_000_000], help="rows")
    parser.add_argument("--d", type=int, default=8, help="columns (8: correlated_mixture_8d)")
    parser.add_argument("--n-features", type=int, default=512)
    parser.add_argument("--n-steps", type=int, default=30)
    parser.add_argument("--samplers", nargs="+", default=["heun", "ddpm"], help="samplers timed by sample(n)")
    parser.add_argument("--repeat", type=int, default=1, help="take the best of this many runs")
    parser.add_argument("--cpu-max-n", type=int, default=10**9, help="skip the CPU above this many rows")
    parser.add_argument("--small", action="store_true", help="tiny shapes (e.g. to check the script on the simulator)")
    args = parser.parse_args(argv)
    if args.small:
        args.n, args.d, args.n_features, args.n_steps = [200, 400], 2, 16, 4
    if min(args.n) < 2 or args.d < 1 or args.repeat < 1 or args.n_features < 1 or args.n_steps < 2:
        parser.error("--n must be >= 2, --d, --n-features and --repeat >= 1, --n-steps >= 2")

    if not kc.cuda_usable():
        print(f"No usable CUDA GPU: {kc.cuda_unavailable_reason()}. Nothing measured "
              "(install skscore[cuda] on a machine with an NVIDIA GPU, or run with NUMBA_ENABLE_CUDASIM=1 --small "
              "to check the script on the simulator).")
        return 0
    if kc._SIMULATOR and not args.small:
        print("Numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): it runs every CUDA thread as a Python "
              "thread, so only --small is practical, and its timings say nothing about a GPU.")
        return 0
    name, cc, peak = device_description()
    note = " (SIMULATOR: timings are not GPU timings)" if kc._SIMULATOR else ""
    print(f"device: {name}; cpus={os.cpu_count()}{note}")
    end_to_end(args)
    projection_throughput(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
