"""Data parallelism for the training loops: one process per device, started by ``torchrun``.

    torchrun --nproc_per_node=2 -m liquidcare.train --config configs/cfc-ncp-smollm2.yaml

Each process (rank) holds a shard of the data — rows ``rank, rank + size, …`` of the packed
blocks — and runs the teacher pass only on it. Every rank draws the *same* global batch (same
seed), keeps the rows it holds and weights its loss by ``rows held / rows in the batch``; the
gradients are then summed over the ranks with one ``all_reduce``. The sum is exactly the gradient
of the global batch's mean loss, so two processes follow the same trajectory as one, up to the
order of float additions (a test holds them equal). Statistics over the data (means, Gram
matrices, perplexity) are summed the same way.

Why not ``DistributedDataParallel`` (or ``accelerate.prepare``, which wraps it): DDP synchronises
gradients only for computations that go through its wrapper's ``forward``, and our loops call
sub-modules directly — one liquid block in stage 1, the model's last decoder blocks from a cached
stream in stage 2. The trainable parameters are a few percent of the model, so one flat
``all_reduce`` per step after ``backward`` costs little and overlapping it with the backward pass
(DDP's bucketing) would gain little.

Backends: ``nccl`` when the process has a CUDA device, ``gloo`` on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class World:
    """Who this process is among the ``size`` processes of a run."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """The process that prints, checkpoints and writes the report."""
        return self.rank == 0

    def shard(self, n: int) -> Tensor:
        """The global row indices this rank holds out of ``n``."""
        return torch.arange(self.rank, n, self.size)


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init() -> World:
    """Join the process group that ``torchrun`` describes in the environment; a single process
    (no ``WORLD_SIZE`` > 1) gets ``World(0, 1)`` and no process group."""
    if dist.is_available() and dist.is_initialized():
        return current()
    if not launched_by_torchrun():
        return World()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
        # the processes share the CPU: split its cores instead of each taking all of them
        local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    dist.init_process_group(backend=backend)
    return current()


def current() -> World:
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(tensor: Tensor) -> Tensor:
    """Sum ``tensor`` over the ranks, in place (a no-op in one process); returns it."""
    if current().size > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def sum_floats(*values: float) -> list[float]:
    """Python numbers summed over the ranks (in float64, so that counts stay exact)."""
    buf = torch.tensor(values, dtype=torch.float64)
    if current().size > 1 and dist.get_backend() == "nccl":
        buf = buf.cuda()
    return all_sum(buf).tolist()


def sync_gradients(params: list[nn.Parameter]) -> None:
    """Sum the gradients of ``params`` over the ranks: one flat buffer, one ``all_reduce``.

    A rank whose share of the batch was empty has no gradients; it contributes zeros."""
    if current().size == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    all_sum(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_parameters(params: list[nn.Parameter]) -> None:
    """Give every rank rank 0's values (a fresh liquid init draws from each rank's RNG)."""
    if current().size == 1:
        return
    with torch.no_grad():
        for p in params:
            # into a buffer, then copy_: an in-place copy bumps the parameter's version, which
            # invalidates the liquid layers' memoised derived weights
            buf = p.detach().clone()
            dist.broadcast(buf, src=0)
            p.copy_(buf)


def barrier() -> None:
    if current().size > 1:
        dist.barrier()
