import subprocess
import sys

import pytest

from bpcourse.cli import build_parser, main


def test_train_on_xor_prints_accuracy(capsys):
    code = main(["train", "--dataset", "xor", "--hidden", "8", "--epochs", "30",
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "train  loss" in out
    assert "test   loss" in out
    assert "accuracy" in out


@pytest.mark.parametrize("command", ["train", "gradcheck"])
def test_help_states_defaults(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    out = capsys.readouterr().out
    assert "(default:" in out
    for line in out.splitlines():
        if line.strip().startswith("--") and "help" not in line:
            assert line.strip(), line


def test_bad_hidden_width_message(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--hidden", "a,b"])
    assert "not a comma-separated list" in capsys.readouterr().err


def test_console_script_version():
    result = subprocess.run(
        [sys.executable, "-m", "bpcourse", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip()


def test_invalid_activation_is_reported(capsys):
    code = main(["train", "--dataset", "xor", "--activation", "swish", "--epochs", "1",
                 "--no-progress"])
    assert code == 2
    assert "unknown activation 'swish'" in capsys.readouterr().err
