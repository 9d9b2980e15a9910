#!/usr/bin/env bash
# How much a benign real-video run of the shipped weights moves with CPU kernels and threads: evaluate-real on
# the eight evaluation videos under ATEN_CPU_CAPABILITY=avx512|avx2|default (2 threads) and avx512 with 1
# thread (kernels this CPU lacks fall back to the best it has; each table's header names what ran).
# Writes docs/results/real_video/variation/<threads>t_<kernels>/real_video.{csv,md}. Run from the repository root.
set -euo pipefail
S=../shared/data
W=armory_siammtl/model_weights
for setting in "2 avx512" "2 avx2" "2 default" "1 avx512"; do
  set -- $setting
  ATEN_CPU_CAPABILITY=$2 .venv/bin/armory-siammtl evaluate-real $S/otb-person $S/uav123 \
    --weights $W/siamrpn_alex_stl.pth --weights $W/siamrpn_alex_mtl_l02.pth --threads "$1" \
    --out "docs/results/real_video/variation/${1}t_$2"
done
.venv/bin/python - <<'PY'
import glob, pandas as pd
tables = {p.split("/")[-2]: pd.read_csv(p) for p in sorted(glob.glob("docs/results/real_video/variation/*/real_video.csv"))}
models = lambda t: t[t["tracker"].str.startswith(("STL", "MTL"))].set_index(["video", "tracker"])["miou"]
cells = pd.DataFrame({name: models(t) for name, t in tables.items()})
spread = (cells.max(axis=1) - cells.min(axis=1))
rows = ["| video | model | " + " | ".join(cells.columns) + " |", "|---|---|" + "---|" * len(cells.columns)]
rows += [f"| {v} | {m} | " + " | ".join(f"{x:.2f}" for x in r) + " |" for (v, m), r in cells.iterrows()]
text = ("Benign mIoU of the shipped weights per video under each kernel/thread setting\n\n" + "\n".join(rows)
        + f"\n\nlargest difference between settings in any cell: {spread.max():.3f} mIoU points\n")
open("docs/results/real_video/variation/README.md", "w").write(text)
print(text)
PY
