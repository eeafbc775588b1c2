#!/usr/bin/env bash
# Installs the Debian packages SSMFlow needs, and only those that are missing.
# Quiet when everything is present. Usage: scripts/setup.sh [--test] [--bench]
#   --test   also what the test suite needs (Slurm + munge for the cluster test;
#            Debian's python3-torch and python3-h5py for the PyTorch interop test)
#   --bench  also what the benchmarks compare against (Debian's python3-torch)
set -euo pipefail

packages=(
  libtorch-dev      # the DeepSSM network (CPU libtorch 1.13)
  libhdf5-dev       # the artifact store's arrays (hdf5-serial)
  hdf5-tools        # h5dump / h5ls, to inspect cached arrays
  libvtk9-dev       # meshes, marching cubes, distances, heat-map rendering
  libyaml-dev
  libssl-dev        # SHA-256 for cache keys (OpenSSL's libcrypto)
  zlib1g-dev        # gzip NRRD images
  xvfb xauth libgl1-mesa-dri  # off-screen rendering of heat maps (VTK needs an X server)
  libx11-dev        # the VTK shim checks the X display before rendering
  libinsighttoolkit5-dev  # intensity-based rigid registration of new images (ITK 5.2)
  make
)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(slurm-wlm munge python3-torch python3-h5py) ;;  # python3-torch: the ShapeWorks model export check and, with python3-h5py, the PyTorch interop test
    --bench) packages+=(python3-torch python3-h5py) ;;
    *) echo "setup.sh: unknown option '$arg' (use --test or --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null; then
  echo "setup.sh: missing packages: ${missing[*]}; this script needs Debian's apt-get to install them" >&2
  exit 1
fi
sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: installed ${#missing[@]} package(s)"
