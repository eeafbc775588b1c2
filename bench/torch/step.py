"""Seconds per DeepSSM training step (forward, MSE, backward, Adam) in PyTorch.

usage: step.py DEPTH HEIGHT WIDTH BATCH STEPS THREADS [DEVICE]
DEVICE is cpu (default) or cuda; on cuda the deterministic settings match the
shim's (deterministic algorithms, warn only; deterministic cuDNN, no benchmark).
Prints one line per timed step: `python <seconds>`.
"""
import sys
import time

import torch

from deepssm import DeepSSMNet

depth, height, width, batch, steps, threads = map(int, sys.argv[1:7])
device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
torch.set_num_threads(threads)
torch.manual_seed(0)
if device == "cuda":
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
net = DeepSSMNet(depth, height, width, 6).to(device)
adam = torch.optim.Adam(net.parameters(), lr=1e-4)
# Batches come from host memory each step, as the shim's do.
images = torch.randn(batch, 1, depth, height, width)
targets = torch.randn(batch, 6)
net.train()
for step in range(steps + 1):
    start = time.perf_counter()
    adam.zero_grad()
    loss = torch.nn.functional.mse_loss(net(images.to(device)), targets.to(device))
    loss.backward()
    adam.step()
    loss.item()
    if step > 0:  # the first step warms up allocators and kernels
        print(f"python {time.perf_counter() - start:.4f}", flush=True)
