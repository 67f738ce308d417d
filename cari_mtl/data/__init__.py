"""Datasets (CaVI, WebCaricature, synthetic), their protocol files, and the input pipelines."""
