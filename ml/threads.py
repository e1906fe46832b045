"""How many OpenMP threads each process of a container gets: its share of the CPUs.

scikit-learn's gradient boosting trains and predicts with OpenMP threads, one
per CPU unless told otherwise. When more threads want to run than there are
CPUs (several server workers each starting one per CPU, or a job step beside
other busy processes), the waiting threads spin: a 100-row request on two
loaded cores went from 14 ms to 2.6 s. So a container's CPUs are divided among
its worker processes (SageMaker's ``SAGEMAKER_MODEL_SERVER_WORKERS``
convention: one worker per CPU by default), each getting at least one thread.
"""

from __future__ import annotations

from ml.errors import MlopsError

# The variables that OpenMP and the BLAS libraries numpy may load read at start-up.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Waiting OpenMP threads sleep instead of spinning. Beside other busy processes a
# training run with spinning waits took 3-4x the CPU and wall time (benchmarks/
# contention.py); the image sets it for every process (ml/Dockerfile).
WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE"}


def container_cpus() -> int:
    """CPUs this process may use: the machine's, narrowed by its affinity and cgroup quota.

    A Docker ``--cpus`` limit or a Kubernetes CPU limit is a cgroup quota; SageMaker
    gives a container the whole instance. joblib's (loky's) count reads all three.
    """
    from joblib import cpu_count

    return int(cpu_count())


def threads_per_worker(workers: int, cpus: int | None = None) -> int:
    """The CPUs divided among the workers, rounded down, at least one."""
    if workers < 1:
        raise MlopsError(f"workers must be at least 1, got {workers}")
    return max(1, (container_cpus() if cpus is None else cpus) // workers)


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that start a process with ``threads`` threads per pool."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def job_environment(cpus: int | None = None) -> dict[str, str]:
    """What a job step (the one process of its container) starts with: a thread per CPU."""
    return {**thread_environment(threads_per_worker(1, cpus)), **WAIT_POLICY}


def limit_threads(threads: int) -> None:
    """Set this process's OpenMP and BLAS pools to ``threads`` threads (already loaded ones too)."""
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise MlopsError(f"threads must be at least 1, got {threads}")
    threadpool_limits(limits=threads)
