#!/usr/bin/python3
"""Loads a model exported with `ssmflow cache export deepssm-train.model DIR`
into a PyTorch module laid out with ShapeWorks' DeepSSM names and checks its
particle predictions against ours.

    check-shapeworks-model.py EXPORT_DIR IMAGES.npy EXPECTED.npy [TOLERANCE_MM]

IMAGES.npy: float32 [T, 1, D, H, W], normalised as the loaders normalise them.
EXPECTED.npy: float64 [T, M, 3], our world-frame predicted particles.
Prints the largest difference; exits 0 when it is within TOLERANCE_MM (1e-3).
The module is defined here from the state-dict names and shapes (the names
ShapeWorks' DeepSSMUtils uses), and loaded strictly: every name must match.
"""
import collections
import glob
import json
import os
import sys

import numpy as np
import torch
from torch import nn


def backbone(dims):
    reduced = list(dims)
    for pad in (4, 8, 8):
        reduced = [(d - pad) // 2 for d in reduced]
    layers = collections.OrderedDict()
    channels = [1, 12, 24, 48, 96, 192]
    pools = {1: "mp1", 3: "mp2", 5: "mp3"}
    for i in range(1, 6):
        layers[f"conv{i}"] = nn.Conv3d(channels[i - 1], channels[i], 5)
        layers[f"bn{i}"] = nn.BatchNorm3d(channels[i])
        layers[f"relu{i}"] = nn.PReLU()
        if i in pools:
            layers[pools[i]] = nn.MaxPool3d(2)
    layers["flatten"] = nn.Flatten()
    layers["fc1"] = nn.Linear(reduced[0] * reduced[1] * reduced[2] * 192, 384)
    layers["relu6"] = nn.PReLU()
    layers["fc2"] = nn.Linear(384, 96)
    layers["relu7"] = nn.PReLU()
    module = nn.Module()
    module.features = nn.Sequential(layers)
    return module


class Encoder(nn.Module):
    def __init__(self, num_latent, dims):
        super().__init__()
        self.ConvolutionalBackbone = backbone(dims)
        self.pca_pred = nn.Sequential(collections.OrderedDict(linear=nn.Linear(96, num_latent)))


class Decoder(nn.Module):
    def __init__(self, num_latent, num_corr):
        super().__init__()
        self.fc_fine = nn.Linear(num_latent, num_corr * 3)


class DeepSSM(nn.Module):
    def __init__(self, num_latent, dims, num_corr, mean, std):
        super().__init__()
        self.encoder = Encoder(num_latent, dims)
        self.decoder = Decoder(num_latent, num_corr)
        self.mean = torch.from_numpy(mean).float()
        self.std = torch.from_numpy(std).float()
        self.num_corr = num_corr

    def forward(self, x):
        scores = self.encoder.pca_pred(self.encoder.ConvolutionalBackbone.features(x))
        unwhitened = scores * self.std + self.mean
        return scores, self.decoder.fc_fine(unwhitened).reshape(-1, self.num_corr, 3)


def main():
    export, images_path, expected_path = sys.argv[1:4]
    tolerance = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-3
    configs = glob.glob(os.path.join(export, "*.json"))
    if len(configs) != 1:
        sys.exit(f"{export}: expected one config JSON, found {configs}")
    config = json.load(open(configs[0]))
    loader_dir = os.path.join(export, config["paths"]["loader_dir"])
    mean = np.load(os.path.join(loader_dir, "mean_PCA.npy"))
    std = np.load(os.path.join(loader_dir, "std_PCA.npy"))
    model_file = os.path.join(export, config["paths"]["out_dir"], config["model_name"],
                              "best_model.torch" if config["use_best_model"] else "final_model.torch")
    state = torch.load(model_file, map_location="cpu")
    images = torch.from_numpy(np.load(images_path))
    expected = np.load(expected_path)
    num_corr = state["decoder.fc_fine.weight"].shape[0] // 3
    model = DeepSSM(config["num_latent_dim"], images.shape[2:], num_corr, mean, std)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        _, particles = model(images)
    difference = float(np.abs(particles.numpy().astype(np.float64) - expected).max())
    print(f"{len(state)} tensors loaded strictly from {model_file}; largest particle difference {difference:.3g} mm")
    sys.exit(0 if difference <= tolerance else 1)


if __name__ == "__main__":
    main()
