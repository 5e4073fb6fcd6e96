"""Comparing the pipeline's output with a synthetic borough's ground truth."""
