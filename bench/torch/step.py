"""Seconds per DeepSSM training step (forward, MSE, backward, Adam) in PyTorch.

usage: step.py DEPTH HEIGHT WIDTH BATCH STEPS THREADS [DEVICE [PRECISION]]
DEVICE is cpu (default) or cuda; on cuda the deterministic settings match the
shim's (deterministic algorithms, warn only; deterministic cuDNN, no benchmark).
PRECISION (cuda only) is fp32 (default; TF32 off, as the shim sets it), tf32,
or bf16 (autocast of the forward pass, as the shim's `precision: bf16`).
Prints one line per timed step: `python <seconds>`.
"""
import contextlib
import sys
import time

import torch

from deepssm import DeepSSMNet

depth, height, width, batch, steps, threads = map(int, sys.argv[1:7])
device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
precision = sys.argv[8] if len(sys.argv) > 8 else "fp32"
torch.set_num_threads(threads)
torch.manual_seed(0)
if device == "cuda":
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
def autocast():
    if precision == "bf16":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
net = DeepSSMNet(depth, height, width, 6).to(device)
adam = torch.optim.Adam(net.parameters(), lr=1e-4)
# Batches come from host memory each step, as the shim's do.
images = torch.randn(batch, 1, depth, height, width)
targets = torch.randn(batch, 6)
net.train()
for step in range(steps + 1):
    start = time.perf_counter()
    adam.zero_grad()
    with autocast():
        out = net(images.to(device))
    loss = torch.nn.functional.mse_loss(out.float(), targets.to(device))
    loss.backward()
    adam.step()
    loss.item()
    if step > 0:  # the first step warms up allocators and kernels
        print(f"python {time.perf_counter() - start:.4f}", flush=True)
