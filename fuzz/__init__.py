"""Fuzzing entry points (hypothesis): python -m fuzz --help."""
