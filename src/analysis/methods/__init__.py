"""The estimators' mathematics: arrays in, numbers out, no study, files or YAML."""
