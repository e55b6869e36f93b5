"""Helpers shared by tests across layers (importable as ``support``)."""
