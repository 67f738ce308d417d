"""The learning-rate schedule file (PORTING T25, T26): read as the original reads it, again every epoch."""

import io

import pytest

from cari_mtl.training.loop.schedule import LearningRate


def original_rate(filename, epoch):
    """facenet_ext.get_learning_rate_from_file of the original, transcribed (Python 3 syntax)."""
    with open(filename) as f:
        for line in f.readlines():
            line = line.split("#", 1)[0]
            if line:
                par = line.strip().split(":")
                e = int(par[0])
                lr = float(par[1])
                if e <= epoch:
                    learning_rate = lr
        return learning_rate


def test_rates_match_the_original_reader(tmp_path):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("# comment\n0: 0.1\n3: 0.05 # tail\n7:0.001\n")
    rates = LearningRate(-1, schedule, out=io.StringIO())
    for epoch in range(1, 10):
        assert rates.rate(epoch) == original_rate(schedule, epoch)
    assert [rates.rate(epoch) for epoch in (1, 3, 6, 7)] == [0.1, 0.05, 0.05, 0.001]


def test_an_edit_during_the_run_applies_from_the_next_epoch(tmp_path):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0: 0.1\n")
    out = io.StringIO()
    rates = LearningRate(-1, schedule, out=out)
    assert rates.rate(1) == 0.1
    schedule.write_text("0: 0.1\n2: 0.02\n")
    assert rates.rate(2) == original_rate(schedule, 2) == 0.02
    assert "changed, from epoch 2: 0: 0.1, 2: 0.02" in out.getvalue()


def test_a_broken_edit_keeps_the_last_good_schedule(tmp_path):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0: 0.1\n")
    out = io.StringIO()
    rates = LearningRate(-1, schedule, out=out)
    assert rates.rate(1) == 0.1
    schedule.write_text("0 0.5\n")
    assert rates.rate(2) == 0.1
    assert f"warning: {schedule}:1: expected 'epoch: learning_rate'" in out.getvalue()
    schedule.unlink()
    assert rates.rate(3) == 0.1


def test_a_blank_line_is_skipped_where_the_original_crashed(tmp_path):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0: 0.1\n\n5: 0.01\n")
    with pytest.raises(ValueError):
        original_rate(schedule, 1)
    assert LearningRate(-1, schedule, out=io.StringIO()).rate(5) == 0.01


def test_a_fixed_rate_reads_no_file():
    assert LearningRate(0.3, None).rate(4) == 0.3
