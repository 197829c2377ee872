"""The ``seed_demo`` data generator: a catalogue, shoppers, orders and their browsing history."""

from .run import SeedReport, build_portraits, flush_demo, seed_demo, train_models

__all__ = ("SeedReport", "build_portraits", "flush_demo", "seed_demo", "train_models")
