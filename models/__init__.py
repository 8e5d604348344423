"""Estimators: tax yield, landing propensity, lead ranking, explanations, registry."""
