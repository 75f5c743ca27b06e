"""Thread pools: one place that decides how many threads Numba, BLAS and joblib get.

Every parallel region of the package goes through these helpers:

- :func:`limit_threads` caps the Numba kernels and BLAS of the enclosed code
  at ``n_jobs`` threads (fitting, a single prediction);
- :func:`map_chunks` runs a function over row chunks in joblib threads, each
  with single-threaded BLAS and its share of the Numba threads (sampling and
  the log-density);
- :func:`parallel_map` runs independent tasks (convex programs, tree levels)
  in joblib workers, each capped at its share of the threads; a backend set
  by ``joblib.parallel_backend`` (processes, dask) takes over unchanged.

Multi-threaded BLAS alternating with the Numba kernels loses to
single-threaded BLAS in parallel chunks: OpenBLAS and OpenMP workers both
spin-wait after each call and fight over the same cores (the engine guide
reports the measured cost).
"""

from contextlib import contextmanager

import numba
import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import ThreadpoolController

__all__ = ["effective_n_threads", "limit_threads", "map_chunks", "parallel_map"]

_CONTROLLER = []


def _thread_pools():
    """This process's threadpoolctl controller, made once (a scan of the
    loaded libraries costs milliseconds)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def effective_n_threads(n_jobs):
    """Threads for the Numba kernels and BLAS: None means all cores, -1 too."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return available
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    return max(1, min(int(n_jobs), available))


def _threadsafe_kernels():
    """Whether parallel kernels may be launched from several threads at once."""
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # no parallel kernel has run yet: the layer is unknown
        return numba.config.THREADING_LAYER not in ("workqueue",)


@contextmanager
def capped_threads(n_threads, blas_threads=None, user_api="blas"):
    """Numba at ``n_threads`` threads, BLAS (or every pool: ``user_api=None``) at ``blas_threads``."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        with _thread_pools().limit(limits=n_threads if blas_threads is None else blas_threads, user_api=user_api):
            yield
    finally:
        numba.set_num_threads(previous)


def limit_threads(n_jobs):
    """Run the enclosed Numba kernels and BLAS calls on ``n_jobs`` threads."""
    return capped_threads(effective_n_threads(n_jobs))


def _worker_plan(n_jobs, n_tasks):
    """``(workers, threads per worker)`` for ``n_tasks`` independent tasks."""
    n_threads = effective_n_threads(n_jobs)
    n_workers = max(1, min(n_threads, n_tasks)) if _threadsafe_kernels() else 1
    return n_workers, max(1, n_threads // n_workers)


def _capped_call(func, n_threads, args):
    # in the worker (a process or dask worker starts with its own pools);
    # every pool, OpenMP included, whatever library the task calls
    with capped_threads(n_threads, user_api=None):
        return func(*args)


def parallel_map(func, tasks, n_jobs, *, inner_threads=None):
    """``[func(*task) for task in tasks]`` in joblib workers.

    Each worker runs with its share of the ``n_jobs`` threads for Numba and
    BLAS (``inner_threads`` to set it).  Threads are preferred (the kernels
    and BLAS release the GIL), but a backend set with
    ``joblib.parallel_backend`` takes over, its workers capped the same way.
    """
    tasks = list(tasks)
    n_workers, inner = _worker_plan(n_jobs, len(tasks))
    inner = inner if inner_threads is None else inner_threads
    if n_workers == 1:
        return [_capped_call(func, inner, task) for task in tasks]
    # capping here first keeps thread workers from undoing each other's limits
    with capped_threads(inner, user_api=None):
        return Parallel(n_jobs=n_workers, prefer="threads")(
            delayed(_capped_call)(func, inner, task) for task in tasks
        )


def map_chunks(func, n_rows, chunk_size, n_jobs):
    """``func(start, stop)`` on consecutive row chunks, concatenated.

    Chunks run in ``n_jobs`` joblib threads, each integrating its rows with
    single-threaded BLAS; leftover threads go to the Numba kernels inside each
    chunk.  Memory stays bounded by the chunk size times the number of
    threads, for any number of rows.  Floating-point warnings are silenced
    inside: callers check the finiteness of what comes out.
    """
    bounds = [(start, min(start + chunk_size, n_rows)) for start in range(0, n_rows, chunk_size)]
    n_workers, inner = _worker_plan(n_jobs, len(bounds))

    def run(start, stop):
        numba.set_num_threads(inner)
        with np.errstate(all="ignore"):
            return func(start, stop)

    with capped_threads(numba.get_num_threads(), blas_threads=1):
        if n_workers == 1:
            parts = [run(*bound) for bound in bounds]
        else:
            parts = Parallel(n_jobs=n_workers, backend="threading")(delayed(run)(*bound) for bound in bounds)
    return np.concatenate(parts)
