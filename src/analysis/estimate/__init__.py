"""Estimates as tidy tables: regressions, inference, balance, attrition, indices."""
