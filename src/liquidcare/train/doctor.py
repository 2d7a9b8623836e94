"""`liquidcare doctor`: is this machine ready to liquify, train and serve?

Each check prints one line (ok / warn / FAIL) and what to do about a failure. The last check
starts two processes that join a `torch.distributed` group (gloo on CPU, nccl when there are two
GPUs) on loopback and `all_reduce` a tensor — the smallest proof that data-parallel training
can run here, as the research's DDP demo did.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from liquidcare.atomic import write_text


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn" or "FAIL"
    detail: str


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _packages() -> list[Check]:
    checks = []
    for package, needed in (("torch", True), ("transformers", True), ("ncps", True),
                            ("safetensors", True), ("accelerate", True), ("gguf", True),
                            ("datasets", False), ("matplotlib", False), ("tensorboard", False)):
        version = _version(package)
        if version:
            checks.append(Check(package, "ok", version))
        else:
            checks.append(Check(package, "FAIL" if needed else "warn",
                                f"not installed: pip install {package}"))
    return checks


def _embedded() -> Check:
    from liquidcare.models import embedded_gguf_path
    from liquidcare.models.cache import cache_is_current, embedded_cache_dir

    try:
        gguf = embedded_gguf_path()
    except FileNotFoundError as err:
        return Check("embedded model", "FAIL", str(err))
    cached = "converted cache ready" if cache_is_current() else (
        f"not converted yet (the first load_base('smollm2') writes {embedded_cache_dir()})")
    return Check("embedded model", "ok", f"{gguf.name}; {cached}")


def _device() -> Check:
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        bf16 = "bf16 yes" if torch.cuda.is_bf16_supported() else "bf16 no"
        return Check("device", "ok", f"cuda × {torch.cuda.device_count()} ({names}; {bf16})")
    return Check("device", "ok", f"cpu, {torch.get_num_threads()} threads (no CUDA GPU)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _all_reduce_worker(rank: int, world: int, port: int, backend: str, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(backend, rank=rank, world_size=world)
    try:
        device = torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")
        value = torch.tensor([float(rank + 1)], device=device)
        dist.all_reduce(value)  # sum over ranks: 1 + 2 + … + world
        # whole or absent: the parent reads it once every process has joined
        write_text(os.path.join(out_dir, f"rank{rank}"), str(value.item()))
    finally:
        dist.destroy_process_group()


def all_reduce_check(world: int = 2, backend: str | None = None) -> Check:
    """Two processes (or ``world``) join a group on loopback and sum a tensor."""
    if backend is None:
        backend = "nccl" if torch.cuda.device_count() >= world else "gloo"
    expected = world * (world + 1) / 2
    with tempfile.TemporaryDirectory() as out_dir:
        try:
            mp.spawn(_all_reduce_worker, args=(world, _free_port(), backend, out_dir),
                     nprocs=world, join=True)
        except Exception as err:  # a failed worker surfaces here; say what to check
            return Check(f"all_reduce ({backend}, {world} processes)", "FAIL",
                         f"{type(err).__name__}: {err}. Check loopback networking and that "
                         "no firewall blocks local ports.")
        results = []
        for rank in range(world):
            with open(os.path.join(out_dir, f"rank{rank}")) as f:
                results.append(float(f.read()))
    if all(r == expected for r in results):
        return Check(f"all_reduce ({backend}, {world} processes)", "ok",
                     f"every rank got {expected:g}")
    return Check(f"all_reduce ({backend}, {world} processes)", "FAIL",
                 f"ranks got {results}, expected {expected:g}")


def run_checks(distributed: bool = True) -> list[Check]:
    steps: list[Callable[[], Check | list[Check]]] = [_packages, _device, _embedded]
    if distributed:
        steps.append(all_reduce_check)
    checks: list[Check] = []
    for step in steps:
        result = step()
        checks.extend(result if isinstance(result, list) else [result])
    return checks


def report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{c.status:4s}  {c.name:{width}s}  {c.detail}" for c in checks)
