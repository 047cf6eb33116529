"""Constructing the household panel and its indicators from the cleaned rounds."""
