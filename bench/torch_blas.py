#!/usr/bin/env python3
"""Prints the BLAS library PyTorch loaded and, when it is OpenBLAS, the kernel it runs: a speed ratio
against shardnet only means something when both run the same kernel."""
import ctypes

import torch  # noqa: F401  (loads its BLAS)

libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.split()[-1].lower()})
kernel = None
for path in libs:
    lib = ctypes.CDLL(path)
    if hasattr(lib, "openblas_get_corename"):
        lib.openblas_get_corename.restype = ctypes.c_char_p
        kernel = f"pytorch BLAS: {path}, OpenBLAS kernel {lib.openblas_get_corename().decode()}"
        break
print(kernel or f"pytorch BLAS: {', '.join(libs) or 'none found in the process (MKL or a static BLAS)'}")
print(f"pytorch {torch.__version__}; convolutions: {'oneDNN' if torch.backends.mkldnn.is_available() else 'native'}")
