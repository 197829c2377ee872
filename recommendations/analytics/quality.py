"""Model quality over time: what each rebuild's self-evaluation chose per context, how it scored
on the shop's own holdout next to popularity (bestsellers) and the previous versions.

Reads :class:`~recommendations.models.ModelQuality` rows (one per rebuild and context); the admin
page (:mod:`recommendations.admin.quality`) draws them.
"""

from __future__ import annotations

from typing import Any

from recommendations.models import ModelQuality

#: contexts in page order
CONTEXTS = ("user", "session", "similar", "cart")


def _blend(weights: dict[str, float]) -> str:
    ordered = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))  # a JSONB column reorders keys
    return " + ".join(f"{name} {weight:g}" for name, weight in ordered) or "-"


def quality_by_context(versions: int = 30) -> list[dict[str, Any]]:
    """Per context, newest first within it: the current row's chosen blend and validation metrics
    (chosen, popularity, default, the previous version's), and the last ``versions`` rows'
    history (oldest first) for a chart."""
    labels = dict(ModelQuality.Context.choices)
    out = []
    for context in CONTEXTS:
        rows = list(ModelQuality.objects.filter(context=context).order_by("-version_number")[:versions])
        if not rows:
            continue
        current, previous = rows[0], rows[1] if len(rows) > 1 else None
        metrics = current.metrics or {}
        splits = sorted({s for m in metrics.values() if isinstance(m, dict) for s in m if s != "objective"})
        table = [
            {"name": name, "values": [values.get(s) for s in splits], "objective": values.get("objective")}
            for name, values in sorted(metrics.items(), key=lambda kv: -(kv[1].get("objective") or 0.0))
            if isinstance(values, dict)
        ]
        lift = None
        if current.ndcg is not None and current.popularity_ndcg:
            lift = current.ndcg / current.popularity_ndcg - 1.0
        history = rows[::-1]
        out.append(
            {
                "context": context,
                "label": labels[context],
                "current": current,
                "blend": _blend(current.weights),
                "previous_ndcg": previous.ndcg if previous else None,
                "lift": lift,
                "lift_percent": None if lift is None else round(100 * lift),
                "splits": splits,
                "table": table,
                "history": {
                    "labels": [f"v{r.version_number}" for r in history],
                    "chosen": [r.ndcg for r in history],
                    "popularity": [r.popularity_ndcg for r in history],
                },
            }
        )
    return out
