"""The command layer: flags, their parsing into configs, and the main functions of every command."""
