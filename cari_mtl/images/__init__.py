"""Image I/O: decoding and standardising image files as the original evaluation loader does."""
