import pytest

import bpcourse


def test_require_accepts_current_version():
    assert bpcourse.require("0.1") == bpcourse.__version__
    assert bpcourse.require(bpcourse.__version__) == bpcourse.__version__


def test_require_names_both_versions():
    with pytest.raises(bpcourse.VersionMismatchError) as info:
        bpcourse.require("0.3", installed="0.2.5")
    message = str(info.value)
    assert "needs bpcourse 0.3 or newer" in message
    assert "bpcourse 0.2.5 is installed" in message
    assert "make venv" in message


def test_require_compares_numerically():
    assert bpcourse.require("0.9", installed="0.10.0") == "0.10.0"
    with pytest.raises(bpcourse.VersionMismatchError):
        bpcourse.require("1.0", installed="0.10")


def test_require_rejects_malformed_version():
    with pytest.raises(ValueError, match="not of the form"):
        bpcourse.require("latest")


def test_version_error_is_an_import_error():
    assert issubclass(bpcourse.VersionMismatchError, ImportError)
