#!/usr/bin/env bash
# Installs the Debian packages SSMFlow needs, and only those that are missing.
# Quiet when everything is present. Usage: scripts/setup.sh [--test] [--bench] [--torch-wheel]
#   --test   also what the test suite needs (Slurm + munge for the cluster test;
#            Debian's python3-torch and python3-h5py for the PyTorch interop test)
#   --bench  also what the benchmarks compare against (Debian's python3-torch)
#   --torch-wheel  also PyPI's torch (TORCH_WHEEL_VERSION, CUDA build with its
#            nvidia-* wheels) in .build-torch/venv, and libSSMFlowTorch.so built
#            against it in .build-torch/lib: run with SSMFLOW_NATIVE_DIR=.build-torch/lib
set -euo pipefail
cd "$(dirname "$0")/.."
# The pinned PyPI torch of the wheel route (and of its CI check, scripts/test-torch-wheel.sh).
TORCH_WHEEL_VERSION=${TORCH_WHEEL_VERSION:-2.15.0}
torch_wheel=0

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
    --torch-wheel) packages+=(python3-venv python3-pip); torch_wheel=1 ;;
    *) echo "setup.sh: unknown option '$arg' (use --test, --bench or --torch-wheel)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

# The wheel route: a project-local venv (git-ignored, like every .build-*/) with
# PyPI's torch, and the shim built against it beside, never over, the Debian build.
install_torch_wheel() {
  local venv=.build-torch/venv python=${PYTHON:-/usr/bin/python3}
  local start=$SECONDS
  if [[ ! -x $venv/bin/python ]]; then
    "$python" -m venv "$venv" || { echo "setup.sh: cannot create $venv with $python (install python3-venv)" >&2; exit 1; }
  fi
  if ! "$venv/bin/python" -m pip show torch 2>/dev/null | grep -qx "Version: $TORCH_WHEEL_VERSION"; then
    echo "setup.sh: installing torch==$TORCH_WHEEL_VERSION from PyPI into $venv (about 5.4 GB with its CUDA libraries)"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "torch==$TORCH_WHEEL_VERSION" ||
      { echo "setup.sh: pip could not install torch==$TORCH_WHEEL_VERSION into $venv; check the network to PyPI and the disk space" >&2; exit 1; }
  fi
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  scripts/build-torch-shim.sh "$site/torch" .build-torch/lib
  echo "setup.sh: the torch wheel route is ready in $((SECONDS - start)) s ($(du -sh .build-torch | cut -f1)); run ssmflow with SSMFLOW_NATIVE_DIR=$PWD/.build-torch/lib (ssmflow doctor shows which libtorch it loads)"
}

if ((${#missing[@]} == 0)); then
  ((torch_wheel)) && install_torch_wheel
  exit 0
fi

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
((torch_wheel)) && install_torch_wheel
exit 0
