"""What `--resume` accepts besides itself: a resumed run has the flags stored in its run.json.

Any other training flag would be ignored, so it is refused by name. One exception extends a run:
`--max_nrof_epochs N` raises the epoch budget of the run (finished or not) and is stored in its
run.json, so that a later `--resume` keeps it.
"""

RESUME_FLAGS = ("--resume", "--models_base_dir", "--backend")  # --backend: which backend reads the run
EXTENDING_FLAGS = ("--max_nrof_epochs",)


def given_flags(argv):
    """The `--name` flags of argv, in order, without values (`--name=value` counts as `--name`)."""
    return [token.split("=", 1)[0] for token in argv if token.startswith("--")]


def resume_extension(argv, args):
    """Flags appended to the stored ones when resuming: `--max_nrof_epochs N` if given; ValueError naming
    every other flag given with --resume (it would be ignored)."""
    given = given_flags(argv)
    ignored = [flag for flag in dict.fromkeys(given) if flag not in RESUME_FLAGS + EXTENDING_FLAGS]
    if ignored:
        raise ValueError(f"--resume continues a run with the flags stored in its run.json, so {', '.join(ignored)} "
                         f"would be ignored: drop {'them' if len(ignored) > 1 else 'it'} (only --max_nrof_epochs "
                         f"may be given, to extend the run), or start a new run without --resume")
    return ["--max_nrof_epochs", str(args.max_nrof_epochs)] if "--max_nrof_epochs" in given else []
