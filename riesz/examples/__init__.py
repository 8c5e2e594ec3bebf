"""Runnable examples: ``python -m riesz.examples.digits`` and
``python -m riesz.examples.charlm``."""
import contextlib


def one_blas_thread():
    """A context in which BLAS uses one thread, when threadpoolctl is installed (it comes
    with scikit-learn, in the ``examples`` extra).

    The examples multiply small matrices (64 × 256, say), where BLAS threads cost more
    in synchronisation than they save; on a machine whose cores are busy with other
    work, OpenBLAS's waiting threads made a training step up to 20× slower.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
