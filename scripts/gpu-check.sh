#!/usr/bin/env bash
# The GPU check: can libdemucs run on this machine's NVIDIA GPU with upstream's
# numbers, and how fast? One run, one JSON document (stdout, and
# $OUT/gpu-check.json when OUT is set).
#
#   scripts/gpu-check.sh            # the whole check
#   scripts/gpu-check.sh --fast     # a short benchmark (CI runs this on its CPU)
#   options: --build-dir DIR (default build-gpu-check), --jobs N (default: all cores)
#
# What it needs: a C++ compiler, meson, ninja and python3; for the GPU, a
# Python torch with CUDA (its LibTorch is used: headers in torch/include,
# libraries in torch/lib). Nothing else: it configures libdemucs alone
# (-Dgstreamer=disabled -Dcli=disabled -Ddaemon=disabled -Ddownloader=disabled;
# GoogleTest from the system or from subprojects/) and builds only what the
# check runs:
#   1. the golden tests on CUDA (tests/models/golden/cuda_golden_test.cpp):
#      float32 against upstream's apply_model (>= 80 dB, TF32 off), batches of
#      4 segments, fp16 and bf16 against float32 (figures reported), GPU
#      memory given back when a model is dropped; the RoFormer networks
#      (tests/models/golden/roformer_cuda_golden_test.cpp): BS and Mel float32
#      against the reference's forward, fp16 and bf16 against float32;
#   2. htdemucs-benchmark on the full-size htdemucs architecture (random
#      weights): 120 s of audio at batch sizes 1, 4 and 8, fp32 and fp16:
#      seconds of compute per second of audio, load time, GPU memory peak.
# Without CUDA (no GPU, or only Debian's CPU LibTorch) it builds against
# Debian's LibTorch, runs the same test program (every CUDA test skips with a
# message), a few seconds of CPU benchmark, reports "cuda_available": false and
# exits 0. The exit status is not 0 when the build or a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source_root=$(pwd)

fast=0
build_dir=build-gpu-check
jobs=$(nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fast) fast=1 ;;
    --build-dir) build_dir=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "gpu-check: $*" >&2; }
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Which LibTorch -----------------------------------------------------------
# Python's torch describes itself (and the GPU) in one JSON object; absent
# torch, an empty one.
python3 - > "$work/torch.json" <<'PY' || echo '{}' > "$work/torch.json"
import glob, json, os, sys
try:
    import torch
except Exception as error:  # no torch in this Python
    print(json.dumps({"python_torch": False, "why": str(error)}))
    sys.exit(0)
info = {
    "python_torch": True,
    "version": torch.__version__,
    "cuda": torch.version.cuda,
    "cuda_available": bool(torch.cuda.is_available()),
    "root": os.path.dirname(torch.__file__),
    "cmake_prefix_path": torch.utils.cmake_prefix_path,
    "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),
}
if info["cuda_available"]:
    info["gpu"] = torch.cuda.get_device_name(0)
    info["gpu_memory_mib"] = torch.cuda.get_device_properties(0).total_memory // (1024 * 1024)
# cuda_runtime_api.h: the CUDA runtime wheel next to torch, else the toolkit's.
candidates = []
site = os.path.dirname(info["root"])
candidates += sorted(glob.glob(os.path.join(site, "nvidia", "cu*", "include")))
candidates += [os.path.join(site, "nvidia", "cuda_runtime", "include")]
for name in ("CUDA_HOME", "CUDA_PATH"):
    if os.environ.get(name):
        candidates.append(os.path.join(os.environ[name], "include"))
candidates += ["/usr/local/cuda/include"]
info["cudart_include"] = next(
    (d for d in candidates if os.path.isfile(os.path.join(d, "cuda_runtime_api.h"))), "")
print(json.dumps(info))
PY
torch_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print("" if v is None else v)' "$work/torch.json" "$1"; }

setup_options=(-Dbuildtype=release -Dgstreamer=disabled -Dcli=disabled -Ddaemon=disabled -Ddownloader=disabled)
libtorch=system
if [[ $(torch_field cuda_available) == True ]]; then
  # The wheel's layout: <root>/include (and include/torch/csrc/api/include), <root>/lib.
  libtorch=$(torch_field root)
  setup_options+=(-Dlibtorch="$libtorch")
  cudart_include=$(torch_field cudart_include)
  [[ -n $cudart_include ]] && setup_options+=(-Dcudart_include="$cudart_include")
  [[ $(torch_field cxx11_abi) == False ]] && setup_options+=(-Dcpp_args=-D_GLIBCXX_USE_CXX11_ABI=0)
  # Newer LibTorch headers refuse C++17 ("C++20 or later compatible compiler is required").
  if ! echo '#include <ATen/core/Tensor.h>' |
      c++ -std=c++17 -fsyntax-only -x c++ -I"$libtorch/include" -I"$libtorch/include/torch/csrc/api/include" - \
      2> "$work/cxx17.log"; then
    if grep -q 'C++20' "$work/cxx17.log"; then
      setup_options+=(-Dcpp_std=c++20)
    fi
  fi
elif [[ ! -d /usr/include/torch ]]; then
  if [[ $(torch_field python_torch) == True ]]; then
    libtorch=$(torch_field root)  # a CPU-only torch wheel: still builds and runs the CPU path
    setup_options+=(-Dlibtorch="$libtorch")
  else
    log "no LibTorch: neither a Python torch nor Debian's libtorch-dev (scripts/install-deps.sh installs it)"
    exit 1
  fi
fi
log "LibTorch: $libtorch"

# --- Build only what the check runs -------------------------------------------
build_started=$(date +%s)
if [[ -f $build_dir/build.ninja ]]; then
  meson setup --reconfigure "$build_dir" "${setup_options[@]}" > "$work/setup.log" 2>&1 || {
    cat "$work/setup.log" >&2; exit 1; }
else
  meson setup "$build_dir" "${setup_options[@]}" > "$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }
fi
targets=(tests/models/golden/cuda-golden-tests models/benchmark/htdemucs-benchmark)
if ! ninja -C "$build_dir" -j "$jobs" "${targets[@]}" > "$work/build.log" 2>&1; then
  tail -60 "$work/build.log" >&2
  log "the build failed (configured with: ${setup_options[*]})"
  exit 1
fi
build_seconds=$(( $(date +%s) - build_started ))
log "built in ${build_seconds} s"

# --- The golden tests on CUDA -------------------------------------------------
export DEMUCS_TEST_DATA="$source_root/tests/data"
export OMP_WAIT_POLICY=PASSIVE
golden_status=0
"$build_dir/tests/models/golden/cuda-golden-tests" --gtest_output="json:$work/golden.json" \
  > "$work/golden.log" 2>&1 || golden_status=$?
grep -E '^(cuda |\[  (FAILED|SKIPPED|PASSED) )' "$work/golden.log" >&2 || true

# --- The benchmark ------------------------------------------------------------
benchmark=("$build_dir/models/benchmark/htdemucs-benchmark" --threads "$(nproc)")
if [[ $(torch_field cuda_available) == True ]]; then
  if [[ $fast == 1 ]]; then
    benchmark+=(--device cuda --seconds 10 --precision fp32,fp16 --batch-size 1,4)
  else
    benchmark+=(--device cuda --seconds 120 --precision fp32,fp16 --batch-size 1,4,8)
  fi
else
  # Keeps the benchmark's CPU path and this script's JSON from rotting: a few seconds.
  benchmark+=(--device cpu --seconds 2 --precision fp32 --batch-size 1)
fi
benchmark_status=0
"${benchmark[@]}" > "$work/benchmark.json" 2> "$work/benchmark.log" || benchmark_status=$?
[[ $benchmark_status == 0 ]] || cat "$work/benchmark.log" >&2

# --- One JSON document --------------------------------------------------------
python3 - "$work" "$fast" "$build_seconds" "$started" "$golden_status" "$benchmark_status" \
  "${setup_options[*]}" "${benchmark[*]}" > "$work/gpu-check.json" <<'PY'
import json, os, platform, sys, time
work, fast, build_seconds, started, golden_status, benchmark_status, setup, benchmark_command = sys.argv[1:9]
torch_info = json.load(open(os.path.join(work, "torch.json")))

golden = {"exit_status": int(golden_status), "passed": 0, "failed": 0, "skipped": 0,
          "skip_messages": [], "failures": [], "figures_db": {}}
try:
    report = json.load(open(os.path.join(work, "golden.json")))
    for suite in report.get("testsuites", []):
        for test in suite.get("testsuite", []):
            name = suite["name"] + "." + test["name"]
            if test.get("result") == "SKIPPED" or test.get("status") == "NOTRUN":
                golden["skipped"] += 1
                for skip in test.get("skipped", []) if isinstance(test.get("skipped"), list) else []:
                    golden["skip_messages"].append(skip.get("message", ""))
            elif test.get("failures"):
                golden["failed"] += 1
                golden["failures"].append({name: [f.get("failure", "") for f in test["failures"]]})
            else:
                golden["passed"] += 1
            for key, value in test.items():
                if key.endswith("_db") or "_db_" in key:
                    golden["figures_db"][name + "." + key] = round(float(value), 2)
except (OSError, ValueError) as error:
    golden["report_error"] = str(error)
if golden["skipped"] and not golden["skip_messages"]:
    for line in open(os.path.join(work, "golden.log"), errors="replace"):
        if "CUDA is not available" in line:
            golden["skip_messages"].append(line.strip())
            break
golden["skip_messages"] = sorted(set(golden["skip_messages"]))

try:
    benchmark = json.load(open(os.path.join(work, "benchmark.json")))
except (OSError, ValueError) as error:
    benchmark = {"error": str(error)}
benchmark["command"] = benchmark_command
benchmark["exit_status"] = int(benchmark_status)

cuda = bool(torch_info.get("cuda_available"))
document = {
    "check": "demucs-vocals gpu-check",
    "mode": "fast" if fast == "1" else "full",
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "host": {"name": platform.node(), "cpus": os.cpu_count()},
    "cuda_available": cuda,
    "gpu": torch_info.get("gpu"),
    "gpu_memory_mib": torch_info.get("gpu_memory_mib"),
    "torch": {k: torch_info.get(k) for k in ("python_torch", "version", "cuda", "root", "cxx11_abi", "cudart_include")},
    "build": {"meson_options": setup, "seconds": int(build_seconds)},
    "golden_cuda": golden,
    "benchmark": benchmark,
    "total_seconds": int(time.time()) - int(started),
}
if not cuda:
    document["note"] = ("CUDA is unavailable here (no Python torch with CUDA, or no GPU): built against "
                        "Debian's LibTorch; the CUDA tests skipped and the benchmark ran a few seconds on the CPU")
document["ok"] = golden["exit_status"] == 0 and golden["failed"] == 0 and benchmark["exit_status"] == 0
print(json.dumps(document, indent=2))
PY
cat "$work/gpu-check.json"
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  cp "$work/gpu-check.json" "$OUT/gpu-check.json"
  cp "$work/golden.log" "$OUT/gpu-check-golden.log"
fi
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] else 1)' "$work/gpu-check.json"
