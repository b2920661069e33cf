"""One run of the sparse-recovery sweep: recover a k-sparse vector from m random measurements.

A Hydra app: `python app.py --multirun m=16,20,24,28,32,36 seed=0,1,2,3,4,5,6,7` runs the
sweep in Hydra's default folders, multirun/DATE/TIME/N/. Each job writes, in its own folder:

- metrics.json: {"success": recovered to 1e-6, "rel_error": ||x_hat - x|| / ||x||}
- omp.jsonl: one line per step of orthogonal matching pursuit, {"step", "residual"}

`crash=m28_s7` makes that job die before writing its metrics, as a pre-empted node would:
its folder stays, with its .hydra/overrides.yaml and the log written so far.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path=".", config_name="config")
def main(cfg: DictConfig) -> None:
    out = Path(HydraConfig.get().runtime.output_dir)
    rng = np.random.default_rng(cfg.seed)
    a = rng.standard_normal((cfg.m, cfg.n)) / np.sqrt(cfg.m)
    x = np.zeros(cfg.n)
    x[rng.choice(cfg.n, cfg.k, replace=False)] = rng.standard_normal(cfg.k)
    y = a @ x
    support: list[int] = []
    residual, coef = y.copy(), np.zeros(0)
    with open(out / "omp.jsonl", "w") as log:
        for step in range(1, cfg.k + 1):
            support.append(int(np.argmax(np.abs(a.T @ residual))))
            coef, *_ = np.linalg.lstsq(a[:, support], y, rcond=None)
            residual = y - a[:, support] @ coef
            ratio = float(np.linalg.norm(residual) / np.linalg.norm(y))
            log.write(json.dumps({"step": step, "residual": ratio}) + "\n")
    if cfg.crash == f"m{cfg.m}_s{cfg.seed}":
        raise RuntimeError(f"simulated node crash in job m={cfg.m} seed={cfg.seed}")
    x_hat = np.zeros(cfg.n)
    x_hat[support] = coef
    rel_error = float(np.linalg.norm(x_hat - x) / np.linalg.norm(x))
    with open(out / "metrics.json", "w") as f:
        json.dump({"success": rel_error < 1e-6, "rel_error": rel_error}, f)


if __name__ == "__main__":
    main()
