"""Example gunicorn configuration for a shop serving recommendations (``gunicorn -c docs/gunicorn.conf.py``).

Copy it next to your project and adjust ``bind``, ``workers`` and ``threads``. What it does beyond
gunicorn's defaults, and why:

* ``OPENBLAS_NUM_THREADS=1`` (and the other BLAS pools): per-request numpy work is tiny; a
  multi-threaded BLAS spends more time handing it to its threads than computing it (the ALS
  fold-in took ~28 ms instead of ~0.2 ms on a loaded 2-core machine, see docs/benchmarks.md).
* ``post_worker_init``: once the worker has imported the project, load the active recommendation
  models (``RECOMMENDATIONS_GUNICORN_WARM=0`` skips it) so the first shopper does not pay for it.
* Optionally (``RECOMMENDATIONS_GUNICORN_GC_FREEZE=1``) ``gc.collect()`` + ``gc.freeze()`` right
  after that: the ~150,000 long-lived objects of Django, the app and the models move to the
  permanent generation, so the collector's rare full passes no longer walk them during a request.
  Off by default: a for-you request makes young objects only (no full collection in 500 requests
  in process), and bench/serving.py's A/B of fresh servers with and without the freeze showed no
  difference in the p99 tail beyond run-to-run noise (``### gc.freeze()`` in docs/benchmarks.md).
  Worth trying where a worker holds far more long-lived objects (big catalogues, preload_app).

bench/serving.py runs gunicorn with this file (``--gunicorn-config``) and repeats the A/B.
"""

from __future__ import annotations

import gc
import os

for _pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")  # read when numpy is first imported, in the worker

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 30


def post_worker_init(worker) -> None:  # gunicorn hook: the worker, after it loaded the app
    if os.environ.get("RECOMMENDATIONS_GUNICORN_WARM", "1") != "0":
        try:
            from recommendations.serving import bundle

            bundle.current()  # the active models, cached in this process
        except Exception:  # a missing model must never stop the worker
            worker.log.exception("recommendations: warming the models failed")
    if os.environ.get("RECOMMENDATIONS_GUNICORN_GC_FREEZE", "0") == "1":
        gc.collect()
        gc.freeze()
