"""Pieces every layer may use: files, versions, masking, pseudonyms, run warnings, disclosure rules."""
