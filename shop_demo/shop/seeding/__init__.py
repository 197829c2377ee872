"""The ``seed_demo`` data generator: a catalogue, shoppers, orders and their browsing history."""

from .run import SeedReport, flush_demo, seed_demo, train_models

__all__ = ("SeedReport", "flush_demo", "seed_demo", "train_models")
