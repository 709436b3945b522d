"""bench/gpu_decode.py's whole path (random Phi-4-mini-shaped model, saved, loaded through
`TransformersBackend`, single-stream and batched decode, the ceiling table) on a tiny model of
the same architecture on the CPU: a plumbing check, so the GPU run works when a GPU is lent."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_decode.py"


def load_script():
    if "gpu_decode" in sys.modules:
        return sys.modules["gpu_decode"]
    spec = importlib.util.spec_from_file_location("gpu_decode", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_decode"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_tiny_cpu_run_prints_the_table_against_the_ceiling(capsys):
    bench = load_script()
    args = ["--tiny", "--device", "cpu", "--new-tokens", "6", "--runs", "2", "--batches", "2,3"]
    text = bench.main(args)
    assert capsys.readouterr().out == text
    assert "| mode | batch | requests | generate calls | completion tokens |" in text
    rows = {
        (cells[0], int(cells[1])): cells
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in text.splitlines())
        if cells[0] in {"single stream", "batched"}
    }
    assert set(rows) == {("single stream", 1), ("batched", 2), ("batched", 3)}
    assert rows[("single stream", 1)][2:4] == ["2", "2"]  # two requests, one generate each
    assert rows[("batched", 3)][2:4] == ["3", "1"]  # three concurrent requests, one generate
    for cells in rows.values():
        assert 0 < int(cells[4]) <= 6 * int(cells[2]) and float(cells[6]) > 0
    assert re.search(r"ceiling: 3\.35 TB/s / [\d.e-]+ GB = \d+ tokens/s", text)
    assert "command: `.venv/bin/python bench/gpu_decode.py --tiny --device cpu" in text


def test_the_full_shape_is_phi4_mini_reasoning():
    import torch
    from transformers import AutoModelForCausalLM

    config = load_script().phi4_mini_config(tiny=False, eos_token_id=0)
    with torch.device("meta"):  # shapes only, no memory
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    assert type(model).__name__ == "Phi3ForCausalLM"
    parameters = sum(p.numel() for p in model.parameters())
    assert parameters == 3_836_021_760  # 7.67 GB in bfloat16: 3.35 TB/s / 7.67 GB = 437 tokens/s
    assert round(3.35e12 / (parameters * 2)) == 437
    assert config.rope_parameters["rope_type"] == "longrope" and config.tie_word_embeddings
    assert len(config.rope_parameters["short_factor"]) == 48  # head_dim 128 * 0.75 / 2
