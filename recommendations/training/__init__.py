"""Training: the event log read into arrays (:mod:`.eventlog`), every model fitted into storable
parts (:mod:`.parts`), the versioned rebuild pipeline (:mod:`.pipeline`) and the optional deep
model (:mod:`.deep`). Serving reads what this writes through :mod:`recommendations.modelstore`."""

from recommendations.training.pipeline import RebuildPlan, build_chunk, finish_rebuild, rebuild, start_rebuild

__all__ = ["RebuildPlan", "build_chunk", "finish_rebuild", "rebuild", "start_rebuild"]
