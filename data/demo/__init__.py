"""Deterministic generator of the synthetic, calibrated demo universe."""
