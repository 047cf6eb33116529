"""The synthetic demo survey."""
