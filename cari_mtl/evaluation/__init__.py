"""Evaluation: features, verification and identification metrics, reports, figures and the evaluation protocols."""
