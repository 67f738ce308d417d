"""A guard against heads that died unseen (PORTING N3): the trainer feeds it every step's scalars.

With the original's ReLU after `Logits` / `Logits_cari`, a high learning rate can push every logit of
a head below 0; the ReLU then outputs 0 everywhere, the cross-entropy sits at ln K and no gradient
ever reaches the head again. A head is called dead after `patience` consecutive steps in which every
logit of the batch was <= 0 (ReLU heads) or its cross-entropy was ln K within 1e-3 (any head). The
warning is printed once per head per run and appended to `warnings.txt` in the run's log directory,
which also remembers it across a --resume.
"""

import math
import sys
from pathlib import Path

PATIENCE = 20
TOLERANCE = 1e-3
WARNINGS_FILE = "warnings.txt"
# head → (cross-entropy key, key of the count of positive logits (ReLU heads only), layer, task)
HEADS = {
    "verification": ("CE1", None, "Logits_verif", "verification"),
    "photo": ("CE2", "positive_logits_photo", "Logits", "photo identification"),
    "caricature": ("CE3", "positive_logits_cari", "Logits_cari", "caricature identification"),
}


class DeadHeadGuard:
    """Counts dead steps per head; warns once per head when a count reaches `patience`."""

    def __init__(self, nrof_classes, log_dir, relu=True, patience=PATIENCE, out=None):
        self.uniform_loss = math.log(nrof_classes)
        self.relu = relu
        self.patience = patience
        self.path = Path(log_dir) / WARNINGS_FILE
        self.out = out or sys.stderr
        self.dead_steps = dict.fromkeys(HEADS, 0)
        self.warned = {head for head in HEADS if self.path.is_file() and f"dead head: {head} " in self.path.read_text()}

    def is_dead(self, head, values):
        cross_entropy, positives, _, _ = HEADS[head]
        if self.relu and positives is not None and values.get(positives, 1.0) == 0:
            return True
        return abs(values[cross_entropy] - self.uniform_loss) < TOLERANCE

    def update(self, step, values):
        """Checks one step's scalars (floats); returns the warnings issued now."""
        issued = []
        for head in HEADS:
            self.dead_steps[head] = self.dead_steps[head] + 1 if self.is_dead(head, values) else 0
            if self.dead_steps[head] >= self.patience and head not in self.warned:
                self.warned.add(head)
                issued.append(self._warn(head, step))
        return issued

    def _warn(self, head, step):
        _, _, layer, task = HEADS[head]
        message = (f"dead head: {head} ({layer}) at step {step}: for {self.patience} steps its logits were all <= 0 "
                   f"or its cross-entropy stayed at ln K = {self.uniform_loss:.3f}, so the {task} head no longer "
                   f"learns. Lower the learning rate (--learning_rate, or the schedule file) or train with "
                   f"--logits_relu off (PORTING N3)")
        print(f"warning: {message}", file=self.out)
        with open(self.path, "a") as handle:
            handle.write(message + "\n")
        return message
