"""Optional deep sequential recommender: a GRU4Rec-style network on PyTorch (CPU).

Install with ``pip install recommendations[deep]``. PyTorch is imported only inside functions, so
importing the engine works without it; :func:`is_available` tells whether it can be used.

:class:`GRU4Rec` embeds the items of a session, runs a GRU over them and scores the next item by
the dot product of the GRU output (projected) with the item embeddings (tied input/output, plus an
item bias). Training uses padded windows of ``max_len + 1`` consecutive items (every position
predicts its successor) rather than GRU4Rec's session-parallel batches, and a softmax
cross-entropy over the batch's targets plus ``n_negatives`` items sampled by popularity**0.75
(``n_negatives=None``: over the whole catalogue). Runs are deterministic under ``seed`` with a
fixed ``threads``, as long as ``max_seconds`` does not cut training short. The fitted model saves
to and loads from bytes (``torch.save`` of plain tensors, loaded with ``weights_only=True``).

:func:`should_serve` is the serving gate: the deep model is served for a slot only when its
offline metric is strictly better than the non-deep blend's.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, Self

import numpy as np

from .base import EventLog, top_k
from .metrics import hit_rate, mrr
from .session import Sessions

KIND = "deep_sequential"


def is_available() -> bool:
    """True when PyTorch is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _torch() -> Any:
    return importlib.import_module("torch")


def should_serve(
    deep_metrics: Mapping[str, float], blend_metrics: Mapping[str, float], metric: str = "mrr@20"
) -> bool:
    """Serve the deep model only if it is strictly better on ``metric`` (case-insensitive key).

    A missing or non-finite value on either side means "do not serve".
    """

    def get(metrics: Mapping[str, float]) -> float:
        lowered = {str(k).lower(): v for k, v in metrics.items()}
        value = lowered.get(metric.lower())
        return float(value) if value is not None else math.nan

    deep, blend = get(deep_metrics), get(blend_metrics)
    return math.isfinite(deep) and math.isfinite(blend) and deep > blend


@dataclass(frozen=True)
class DeepConfig:
    embedding_dim: int = 64
    hidden_size: int = 100
    max_len: int = 20  # items of context the network sees
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 3e-3
    n_negatives: int | None = 2048  # None: full softmax over the catalogue
    dropout: float = 0.2
    max_seconds: float | None = 900.0  # wall-clock bound on training
    seed: int = 0
    threads: int = 1


@contextmanager
def _threads(torch: Any, n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _network(torch: Any, n_items: int, cfg: DeepConfig) -> Any:
    nn = torch.nn

    class GRUNet(nn.Module):  # token 0 is padding; item i is token i + 1
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, cfg.embedding_dim, padding_idx=0)
            self.gru = nn.GRU(cfg.embedding_dim, cfg.hidden_size, batch_first=True)
            self.project = nn.Linear(cfg.hidden_size, cfg.embedding_dim)
            self.bias = nn.Parameter(torch.zeros(n_items + 1))
            self.drop = nn.Dropout(cfg.dropout)

        def forward(self, tokens: Any) -> Any:  # (B, L) -> (B, L, embedding_dim)
            states, _ = self.gru(self.drop(self.items(tokens)))
            return self.project(self.drop(states))

        def logits(self, states: Any, tokens: Any) -> Any:  # scores of ``tokens`` for each state
            return states @ self.items.weight[tokens].T + self.bias[tokens]

    return GRUNet()


def _windows(s: Sessions, max_len: int) -> np.ndarray:
    """Non-overlapping windows of ``max_len + 1`` tokens per session, right-padded with 0."""
    rows = []
    for a, b in zip(s.indptr[:-1].tolist(), s.indptr[1:].tolist(), strict=True):
        tokens = s.items[a:b] + 1
        for start in range(0, max(len(tokens) - 1, 0), max_len):
            chunk = tokens[start : start + max_len + 1]
            if len(chunk) >= 2:
                rows.append(np.pad(chunk, (0, max_len + 1 - len(chunk))))
    return np.asarray(rows, dtype=np.int64).reshape(-1, max_len + 1)


class GRU4Rec:
    """GRU next-item model implementing ``SequenceRecommender`` (scores are softmax probabilities)."""

    def __init__(self, config: DeepConfig | None = None, name: str = "gru4rec", **overrides: Any) -> None:
        self.config = replace(config or DeepConfig(), **overrides)
        self.name = name
        self.n_items = 0
        self.net: Any = None
        self.epochs_run = 0
        self.fit_seconds = 0.0

    def fit(self, data: EventLog | Sessions) -> Self:
        torch, cfg = _torch(), self.config
        s = data if isinstance(data, Sessions) else Sessions.from_log(data)
        self.n_items = s.n_items
        start = time.perf_counter()
        with _threads(torch, cfg.threads):
            torch.manual_seed(cfg.seed)
            gen = torch.Generator().manual_seed(cfg.seed)
            self.net = _network(torch, s.n_items, cfg)
            windows = torch.from_numpy(_windows(s, cfg.max_len))
            counts = np.bincount(s.items, minlength=s.n_items).astype(np.float64) ** 0.75
            sampling = torch.from_numpy(np.r_[0.0, counts + 1e-9])  # never sample padding
            sampled = cfg.n_negatives is not None and cfg.n_negatives < s.n_items
            optim = torch.optim.Adam(self.net.parameters(), lr=cfg.learning_rate)
            self.net.train()
            self.epochs_run = 0
            for _ in range(cfg.epochs if len(windows) else 0):
                for batch in windows[torch.randperm(len(windows), generator=gen)].split(cfg.batch_size):
                    states = self.net(batch[:, :-1])
                    targets = batch[:, 1:]
                    mask = targets > 0
                    states, targets = states[mask], targets[mask]
                    if sampled:
                        negatives = torch.multinomial(sampling, cfg.n_negatives, False, generator=gen)
                        candidates = torch.unique(torch.cat([targets, negatives]))
                        labels = torch.searchsorted(candidates, targets)
                    else:
                        candidates, labels = torch.arange(1, s.n_items + 1), targets - 1
                    loss = torch.nn.functional.cross_entropy(self.net.logits(states, candidates), labels)
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
                self.epochs_run += 1
                if cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds:
                    break
            self.net.eval()
        self.fit_seconds = time.perf_counter() - start
        return self

    def score_sequence(self, items: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        """Next-item probabilities (n_items,) after ``items``; zeros when no item is known."""
        items = np.asarray(items, dtype=np.int64)
        items = items[(items >= 0) & (items < self.n_items)][-self.config.max_len :]
        if self.net is None or not len(items):
            return np.zeros(self.n_items)
        torch = _torch()
        with _threads(torch, self.config.threads), torch.no_grad():
            state = self.net(torch.from_numpy(items + 1)[None, :])[0, -1]
            logits = self.net.logits(state[None, :], torch.arange(1, self.n_items + 1))[0]
            return torch.softmax(logits.double(), dim=0).numpy()

    def to_bytes(self) -> bytes:
        """The config, catalogue size and ``state_dict`` as ``torch.save`` bytes."""
        if self.net is None:
            raise ValueError("fit the model before saving it")
        buffer = io.BytesIO()
        payload = {"config": asdict(self.config), "n_items": self.n_items, "state": self.net.state_dict()}
        _torch().save(payload, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "gru4rec") -> GRU4Rec:
        torch = _torch()
        payload = torch.load(io.BytesIO(data), weights_only=True)
        model = cls(DeepConfig(**payload["config"]), name=name)
        model.n_items = int(payload["n_items"])
        model.net = _network(torch, model.n_items, model.config)
        model.net.load_state_dict(payload["state"])
        model.net.eval()
        return model


def holdout_last_items(s: Sessions, n_sessions: int) -> tuple[Sessions, list[tuple[np.ndarray, int]]]:
    """Hold out the last item of the ``n_sessions`` most recent sessions (of length >= 2).

    Returns the training sessions (those items removed) and ``(context items, target)`` cases.
    """
    lengths = np.diff(s.indptr)
    ends = np.array([s.timestamps[b - 1] for b in s.indptr[1:]]) if len(lengths) else np.zeros(0)
    eligible = np.flatnonzero(lengths >= 2)
    chosen = eligible[np.argsort(-ends[eligible], kind="stable")[:n_sessions]]
    keep = np.ones(len(s.items), dtype=bool)
    keep[s.indptr[chosen + 1] - 1] = False
    cases = [(s.items[s.indptr[i] : s.indptr[i + 1] - 1], int(s.items[s.indptr[i + 1] - 1])) for i in chosen]
    new_lengths = lengths - np.isin(np.arange(len(lengths)), chosen)
    train = Sessions(
        indptr=np.r_[0, np.cumsum(new_lengths)].astype(np.int64),
        items=s.items[keep],
        timestamps=s.timestamps[keep],
        n_items=s.n_items,
    )
    return train, cases


def evaluate_next_item(model: Any, cases: Sequence[tuple[np.ndarray, int]], k: int = 20) -> dict[str, float]:
    """HR@k and MRR@k of ``model.score_sequence`` on ``(context, target)`` cases."""
    hits, ranks = [], []
    for context, target in cases:
        scores = np.asarray(model.score_sequence(context), dtype=np.float64)
        recommended = top_k(np.where(scores > 0, scores, -np.inf), k)
        hits.append(hit_rate(recommended, [target], k))
        ranks.append(mrr(recommended, [target], k))
    n = max(len(cases), 1)
    return {f"hr@{k}": float(sum(hits)) / n, f"mrr@{k}": float(sum(ranks)) / n, "n": float(len(cases))}
