"""Runtime options and guards shared by every layer: speed (XLA, mixed precision), distribution, finite
checks, output folders."""
