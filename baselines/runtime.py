"""Where and how a baseline runs: device, mixed precision, seeds, one optimiser step, torchrun.

``torchrun --nproc_per_node N magic run-baseline seg ...`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set; :func:`setup` joins them (NCCL on GPUs, gloo on the CPU).
Without those variables the run is a single process and no process group is made. Both the
segmentation and the CVQA baselines run inside :func:`session` (seeds and deterministic kernels
on, torch's previous determinism setting given back at the end).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Runtime:
    """The device, the autocast dtype (None: fp32) and this process's place among the ranks."""

    device: Any
    amp_dtype: Any
    rank: int = 0
    world_size: int = 1
    distributed: bool = False
    previous_determinism: tuple[bool, bool] = (False, False)  # restored by teardown

    @property
    def is_main(self) -> bool:
        """Only rank 0 writes files and validates."""
        return self.rank == 0

    @property
    def precision(self) -> str:
        import torch

        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]

    def autocast(self) -> Any:
        """The mixed-precision context of this runtime (a no-op in fp32)."""
        import torch

        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    @property
    def storage_dtype(self) -> Any:
        """dtype of cached activations: what autocast feeds the decoder's first layers anyway."""
        import torch

        return self.amp_dtype or torch.float32

    def make_scaler(self) -> Any:
        """A gradient scaler, enabled for fp16 autocast only (bf16 and fp32 need none)."""
        import torch

        return torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)


def train_step(loss: Any, optimizer: Any, scaler: Any, params: Iterable[Any],
               clip_norm: float) -> None:
    """One optimiser step: gradients of the (scaled) loss, unscaled, clipped to ``clip_norm``."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(params, clip_norm)
    scaler.step(optimizer)  # skipped by the scaler when fp16 gradients overflowed
    scaler.update()


def pick_device(choice: str, local_rank: int = 0) -> Any:
    """``auto``: the GPU when there is one, else the CPU."""
    import torch

    from magic_submit.errors import MagicError

    if choice not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {choice!r}")
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise MagicError("--device cuda was asked for but no CUDA GPU is visible to torch",
                             hint="use --device cpu or install a CUDA build of torch")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def pick_amp_dtype(device: Any) -> Any:
    """bf16 where the GPU supports it, fp16 (with a gradient scaler) otherwise, fp32 on the CPU."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def seed_everything(seed: int) -> None:
    """Python, numpy and torch seeds; deterministic kernels where torch has them."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def setup(device_choice: str = "auto", seed: int = 0, *, distributed: bool = True) -> Runtime:
    """Seed, pick the device and, under torchrun, join the process group.

    ``distributed=False``: one process whatever the environment says (a baseline without DDP).
    """
    import torch
    import torch.distributed as dist

    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    world_size = int(os.environ.get("WORLD_SIZE", "1")) if distributed else 1
    rank = int(os.environ.get("RANK", "0")) if distributed else 0
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank))) if distributed else 0
    device = pick_device(device_choice, local_rank)
    seed_everything(seed)
    distributed = world_size > 1
    if distributed and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, pick_amp_dtype(device), rank, world_size, distributed, previous)


def teardown(runtime: Runtime) -> None:
    """Leave the process group and give torch back its determinism setting (for library use)."""
    import torch
    import torch.distributed as dist

    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()
    enabled, warn_only = runtime.previous_determinism
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@contextlib.contextmanager
def session(device_choice: str = "auto", seed: int = 0, *,
            distributed: bool = True) -> Iterator[Runtime]:
    """:func:`setup`, then :func:`teardown` however the block ends (library calls leave torch as
    they found it)."""
    runtime = setup(device_choice, seed, distributed=distributed)
    try:
        yield runtime
    finally:
        teardown(runtime)


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        import torch.distributed as dist

        dist.barrier()


def broadcast_flag(runtime: Runtime, value: bool) -> bool:
    """Rank 0's ``value`` on every rank (e.g. the early-stopping decision)."""
    if not runtime.distributed:
        return value
    import torch
    import torch.distributed as dist

    flag = torch.tensor([int(value)], device=runtime.device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def sum_across_ranks(runtime: Runtime, values: Any) -> Any:
    """Element-wise sum of a tensor over the ranks (the tensor itself when single-process)."""
    if runtime.distributed:
        import torch.distributed as dist

        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[Any]:
    """The epoch's shuffled order of ``n`` rows cut into global batches (the last may be short).

    Every rank computes the same list (the permutation ``DistributedSampler`` would draw for
    this seed and epoch), so N processes take exactly the steps of one: no row is repeated or
    dropped whatever ``n``, ``batch_size`` and the number of processes.

    >>> [b.tolist() for b in epoch_batches(5, 2, seed=0, epoch=0)]
    [[4, 0], [1, 3], [2]]
    """
    import torch

    generator = torch.Generator().manual_seed(seed + epoch)
    return list(torch.randperm(n, generator=generator).split(batch_size))


def rank_share(batch: Any, rank: int, world_size: int) -> tuple[Any, float]:
    """This rank's rows of a global batch and the weight of its summed loss.

    Rows are dealt r, r + N, r + 2N, ...; a rank left without rows (a short last batch) gets
    one row with weight 0, so that it still joins DDP's gradient exchange. DDP averages the
    gradients over the N ranks, hence the weight ``N / len(batch)``: the average of the ranks'
    weighted sums is the mean over the whole batch, as one process computes it.

    >>> rows, weight = rank_share(__import__("torch").arange(4), 2, 3)
    >>> rows.tolist(), weight
    ([2], 0.75)
    >>> rows, weight = rank_share(__import__("torch").arange(2), 2, 3)
    >>> rows.tolist(), weight
    ([0], 0.0)
    """
    rows = batch[rank::world_size]
    if len(rows) == 0:
        return batch[:1], 0.0
    return rows, world_size / len(batch)


def gather_rows(runtime: Runtime, local: Any, total: int) -> Any:
    """Rebuild a ``[total, ...]`` tensor of which rank r holds rows r, r+world, r+2*world, ...

    Each rank encodes its share of the images once; all ranks then hold every row.
    """
    if not runtime.distributed:
        return local
    import torch
    import torch.distributed as dist

    world = runtime.world_size
    rows = -(-total // world)  # ceil: every rank sends the same shape
    padded = local.new_zeros((rows, *local.shape[1:]))
    padded[: local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    full = local.new_empty((total, *local.shape[1:]))
    for r, part in enumerate(parts):
        count = len(range(r, total, world))
        full[r::world] = part[:count]
    return full
