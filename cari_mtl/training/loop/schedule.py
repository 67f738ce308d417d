"""Learning rate per epoch: fixed (`--learning_rate > 0`) or from a schedule file (PORTING T8).

Schedule file: lines `epoch: learning_rate`; text after `#` is ignored, as are blank lines. The last
line whose epoch is <= the current epoch applies. Epochs count 1, 2, ... like the original's
`epoch_current`, so a `0:` line applies from the first epoch. The file is read again every epoch
(PORTING T25). A blank line crashed the original's reader; here it is skipped (T26).
"""

import sys
from pathlib import Path


def read_schedule(path):
    """[(epoch, learning_rate), ...] in file order; errors name the file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"learning-rate schedule {path} not found: pass --learning_rate_schedule_file "
            f"(e.g. learning_rate_schedules/learning_rate_schedule_classifier_cavi.txt) or a --learning_rate > 0")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            epoch, rate = text.split(":")
            entries.append((int(epoch), float(rate)))
        except ValueError:
            raise ValueError(f"{path}:{number}: expected 'epoch: learning_rate', got {line!r}") from None
    if not entries:
        raise ValueError(f"{path} has no 'epoch: learning_rate' line")
    return entries


def scheduled_rate(entries, epoch, source="the schedule"):
    """The rate of the last entry with entry epoch <= `epoch`."""
    rates = [rate for start, rate in entries if start <= epoch]
    if not rates:
        raise ValueError(f"{source} has no line for epoch {epoch}; add a '0: <rate>' line")
    return rates[-1]


class LearningRate:
    """`rate(epoch)` for `--learning_rate` / `--learning_rate_schedule_file`.

    The schedule file is read again at every epoch, as the original does, so an edit made during a
    run applies from the next epoch (and is printed). An edit that breaks the file is reported and
    the last good schedule kept, where the original stopped with a traceback.
    """

    def __init__(self, learning_rate, schedule_file=None, out=None):
        self.fixed = learning_rate if learning_rate > 0 else None
        self.schedule_file = schedule_file
        self.out = out
        self.entries = None if self.fixed is not None else read_schedule(schedule_file)

    def rate(self, epoch):
        if self.fixed is not None:
            return self.fixed
        self._reread(epoch)
        return scheduled_rate(self.entries, epoch, str(self.schedule_file))

    def _reread(self, epoch):
        try:
            entries = read_schedule(self.schedule_file)
            scheduled_rate(entries, epoch, str(self.schedule_file))
        except (OSError, ValueError) as error:
            print(f"warning: {error}; epoch {epoch} keeps the schedule read before", file=self.out or sys.stderr)
            return
        if entries != self.entries:
            schedule = ", ".join(f"{start}: {rate:g}" for start, rate in entries)
            print(f"learning-rate schedule {self.schedule_file} changed, from epoch {epoch}: {schedule}",
                  file=self.out or sys.stdout)
            self.entries = entries
