"""The DeepSSM network of the femur use case as a plain PyTorch module.

Its state_dict names match SSMFlow's libtorch network, so weights saved by
`deepssm-train` (HDF5, one dataset per state_dict entry) load with
`load_hdf5_state(model, path)`.
"""
import torch
import torch.nn as nn


def flattened_size(depth, height, width):
    def reduce(s):
        return (((s - 4) // 2 - 8) // 2 - 8) // 2
    return 192 * reduce(depth) * reduce(height) * reduce(width)


class DeepSSMNet(nn.Module):
    def __init__(self, depth, height, width, num_outputs):
        super().__init__()
        channels = [1, 12, 24, 48, 96, 192]
        for i in range(5):
            setattr(self, f"conv{i + 1}", nn.Conv3d(channels[i], channels[i + 1], 5))
            setattr(self, f"bn{i + 1}", nn.BatchNorm3d(channels[i + 1]))
            setattr(self, f"prelu{i + 1}", nn.PReLU())
        self.fc1 = nn.Linear(flattened_size(depth, height, width), 384)
        self.prelu6 = nn.PReLU()
        self.fc2 = nn.Linear(384, 96)
        self.prelu7 = nn.PReLU()
        self.fc3 = nn.Linear(96, num_outputs)

    def forward(self, x):
        for i in range(5):
            conv, bn, prelu = (getattr(self, f"{n}{i + 1}") for n in ("conv", "bn", "prelu"))
            x = prelu(bn(conv(x)))
            if i % 2 == 0:
                x = nn.functional.max_pool3d(x, 2, 2)
        x = torch.flatten(x, 1)
        x = self.prelu6(self.fc1(x))
        x = self.prelu7(self.fc2(x))
        return self.fc3(x)


def load_hdf5_state(model, path):
    """Loads the weights and buffers of an SSMFlow model file into `model`."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        state = {name: torch.as_tensor(np.asarray(f[name][()])) for name in f
                 if isinstance(f[name], h5py.Dataset)}
    model.load_state_dict({k: v.reshape(model.state_dict()[k].shape) for k, v in state.items()})
    return model
