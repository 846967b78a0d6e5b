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


def _help(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    # Join the wrapped lines so that each option's text reads as one string.
    return " ".join(capsys.readouterr().out.split())


def test_help_shows_defaults_as_typed(capsys):
    train = _help("train", capsys)
    assert "(default: 256)" in train
    assert "(default: 0.05)" in train
    gradcheck = _help("gradcheck", capsys)
    assert "(default: 4,5,3)" in gradcheck


@pytest.mark.parametrize("command", ["train", "gradcheck", "assign", "grade", "live"])
def test_help_states_each_default_once(command, capsys):
    text = _help(command, capsys)
    assert "(default: [" not in text
    for meaningless in ("True", "False", "None"):
        assert f"(default: {meaningless})" not in text
    assert ") (default:" not in text
    assert text.count("(default:") >= 1


def test_flags_have_no_default_shown(capsys):
    text = _help("train", capsys)
    flag = text[text.index("--no-progress hide"):]
    assert "default" not in flag.split("--")[1]


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


@pytest.mark.parametrize("name", ["swish", "softmax"])
def test_invalid_hidden_activation_is_reported(name, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["train", "--dataset", "xor", "--activation", name, "--epochs", "1",
              "--no-progress"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --activation: {name!r} is not a hidden activation" in err
    assert "identity, leaky_relu, relu, sigmoid, tanh" in err


@pytest.mark.parametrize("argv, words", [
    (["gradcheck", "--sizes", "4"], "argument --sizes: '4' gives one width"),
    (["gradcheck", "--activation", "softmax"], "'softmax' is not a hidden activation"),
    (["assign", "x.ipynb", "--seed", "-5"], "argument --seed: -5 is negative"),
    (["assign", "x.ipynb", "--question-seconds", "0"],
     "argument --question-seconds: 0.0 is not a finite number above 0"),
    (["assign", "x.ipynb", "--memory-mb", "1"], "argument --memory-mb: 1 MB is below 256"),
    (["grade", "s", "--assignment", "a", "--workers", "0"], "argument --workers: 0 is below 1"),
    (["grade", "s", "--assignment", "a", "--submission-seconds", "inf"],
     "argument --submission-seconds: inf is not a finite number above 0"),
    (["live", "--port", "abc"], "argument --port: 'abc' is not a port number"),
    (["live", "--port", "70000"], "argument --port: 70000 is not a port"),
])
def test_other_options_are_checked(argv, words, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("option, value, words", [
    ("--batch-size", "0", "argument --batch-size: 0 is below 1"),
    ("--epochs", "-3", "argument --epochs: -3 is below 1"),
    ("--seed", "-1", "argument --seed: -1 is negative"),
    ("--threads", "0", "argument --threads: 0 is below 1"),
    ("--hidden", "3,,4", "argument --hidden: '3,,4' is not a comma-separated list"),
    ("--hidden", "8,0", "has a width below 1"),
    ("--lr", "0", "argument --lr: 0.0 is not a finite number above 0"),
    ("--lr", "nan", "argument --lr: nan is not a finite number above 0"),
])
def test_train_options_are_checked(option, value, words, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", option, value])
    assert stop.value.code == 2
    assert words in capsys.readouterr().err


def test_diverging_training_ends_with_one_line(capsys):
    code = main(["train", "--lr", "1e9", "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    # The rate in the message is the one that diverged, not a default.
    assert "training diverged" in err
    assert "lr=1e+09 now; try 1e+08" in err


def test_assign_names_a_missing_notebook(tmp_path, capsys):
    missing = tmp_path / "absent.ipynb"
    assert main(["assign", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert f"notebook not found: {missing}" in capsys.readouterr().err
