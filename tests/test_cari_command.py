"""One way in: `cari <command>` and `python -m cari_mtl <command>` list and run every command without
loading a framework for --help; the old entry forms still answer (console scripts, checkout scripts) or
name the new form in one line (`python -m cari_mtl.<old name>`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cari_mtl.commands.console import COMMANDS, OLD_MODULES

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT_SCRIPTS = sorted(str(path.relative_to(ROOT)) for folder in ("train", "evaluate", "align")
                          for path in (ROOT / folder).glob("*.py"))


def python(*args):
    """(exit status, stdout, stderr) of `python args...` from the checkout."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return result.returncode, result.stdout, result.stderr


CARI_HELP = "from cari_mtl.commands.console import cari\nstatus = cari(['--help'])\n"
MODULE_HELP = ("import runpy, sys\nsys.argv = ['cari_mtl', '--help']\ntry:\n"
               "    runpy.run_module('cari_mtl', run_name='__main__')\nexcept SystemExit as stop:\n"
               "    status = stop.code\n")
NO_FRAMEWORK = ("import sys\nheavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
                "print('imported:', heavy)\nsys.exit(status)\n")


@pytest.mark.parametrize("entry", [CARI_HELP, MODULE_HELP], ids=["cari --help", "python -m cari_mtl --help"])
def test_the_command_lists_every_command_without_a_framework(entry):
    status, out, err = python("-c", entry + NO_FRAMEWORK)
    assert status == 0, err[-2000:]
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert listed == list(COMMANDS)
    assert "imported: []" in out


def test_python_m_cari_mtl_runs_the_command():
    status, out, _ = python("-m", "cari_mtl", "--help")
    assert status == 0 and [line.split()[0] for line in out.splitlines() if line.startswith("  ")] == list(COMMANDS)


def test_each_command_answers_help_through_cari_without_a_framework():
    code = ("import contextlib, io, sys\nfrom cari_mtl.commands.console import COMMANDS, cari\n"
            "for name in COMMANDS:\n"
            "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "        try:\n            cari([name, '--help'])\n"
            "        except SystemExit as stop:\n            assert stop.code == 0, name\n"
            "    assert 'usage:' in out.getvalue(), name\n"
            "    heavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
            "    assert not heavy, f'{name} --help imported {heavy}'\n")
    status, _, err = python("-c", code)
    assert status == 0, err[-2000:]


def test_an_unknown_command_is_named_with_the_list():
    status, _, err = python("-m", "cari_mtl", "trian")
    assert status == 2 and err.startswith("error: cari has no command 'trian'") and "  train " in err


@pytest.mark.parametrize("old", sorted(OLD_MODULES))
def test_an_old_module_name_names_the_new_form_in_one_line(old):
    status, out, err = python("-m", old, "--help")
    assert status == 2 and out == ""
    assert err.strip() == (f"error: `python -m {old}` is now `python -m cari_mtl {OLD_MODULES[old]}` "
                           f"(or `cari {OLD_MODULES[old]}`), with the same flags")


@pytest.mark.parametrize("script", CHECKOUT_SCRIPTS)
def test_the_checkout_scripts_still_answer_help(script):
    status, out, err = python(script, "--help")
    assert status == 0 and "usage:" in out, err[-1000:]
