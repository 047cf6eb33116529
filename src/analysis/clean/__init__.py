"""Cleaning one survey round: money, dates, select-multiple, duplicates, corrections, de-identification."""
