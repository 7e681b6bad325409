"""Helpers that exercises share: synthetic data, scenes, metric adapters, a baseline CNN.

Nothing in the engine imports the kit; exercises, graders and reference solutions do,
e.g. ``from proctor.kit.datasets import detection``. ``baseline`` imports torch lazily.
"""
