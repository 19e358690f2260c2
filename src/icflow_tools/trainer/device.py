"""Where and at what precision the network runs.

CUDA when present. precision_dtype float16 means mixed precision: float16 autocast with a gradient scaler
on CUDA. On CPU, float16 kernels are slow or missing; bfloat16 autocast (no scaler needed, since bfloat16
has float32's range) is used where the CPU has bfloat16 instructions (AVX512-BF16 or AMX). Elsewhere
bfloat16 is emulated (ten times slower than float32 on this project's AVX2 machines), so the job trains
in float32 and says so. Weights and saved parameters stay float32 in every case.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: plain float32
    note: str = ""  # why the precision differs from the one asked for

    @property
    def description(self) -> str:
        if self.autocast_dtype is None:
            return f"float32 on {self.device.type}{self.note}"
        return f"mixed precision ({str(self.autocast_dtype).removeprefix('torch.')} autocast) on {self.device.type}"

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.autocast_dtype is None:
            yield
        else:
            with torch.autocast(self.device.type, dtype=self.autocast_dtype):
                yield

    def scaler(self) -> torch.amp.GradScaler:
        """Loss scaling protects float16 gradients from underflow; disabled (a no-op) otherwise."""
        return torch.amp.GradScaler(self.device.type, enabled=self.autocast_dtype == torch.float16)


def choose_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def cpu_has_fast_bfloat16() -> bool:
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence the getattr fallback
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def precision_for(precision_dtype: str, device: torch.device) -> Precision:
    if precision_dtype != "float16":
        return Precision(device, None)
    if device.type == "cuda":
        return Precision(device, torch.float16)
    if cpu_has_fast_bfloat16():
        return Precision(device, torch.bfloat16)
    note = " (precision_dtype float16: this CPU has no bfloat16 instructions, where mixed precision runs slower)"
    return Precision(device, None, note)


def use_available_cores() -> int:
    """One intra-op thread per core this process may run on; torch's default can count hyperthreads."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, cores))
    return torch.get_num_threads()
