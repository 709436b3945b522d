"""`verimath eval`: answer a graded question set, ablations side by side, and write a report.

A report directory holds, per variant, the resumable answer file of `run_batch`
(`answers-<variant>.jsonl`, so an interrupted eval resumes like a batch), and for the whole run
`summary.md` plus PNG plots (matplotlib, the `eval` extra). Metrics are computed from the
answer files alone, so a report can be rebuilt from them at any time (`write_report`).

Variants: `full` always; `--ablate retrieval` answers without the index; `--ablate
verification` answers without anything verification decides (no retry with evidence, candidates
chosen by plain majority vote, never SymPy's own answer; the verifier still labels every answer,
since that is how correctness is measured); `--ablate sampling` answers with one sample.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verimath.batch import run_batch
from verimath.errors import ConfigError, MissingExtraError
from verimath.graphs import Settings
from verimath.questions import QuestionRow
from verimath.rows import read_jsonl

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = [
    "ABLATIONS", "VariantMetrics", "run_evaluation", "write_report", "metrics_of",
    "ablated_settings", "ablated_agent",
]  # fmt: skip

ABLATIONS = ("retrieval", "verification", "sampling", "cross-checks", "grounding")


@dataclass(frozen=True, slots=True)
class VariantMetrics:
    """What one variant scored. `verified_precision`: the share of verified answers that were
    right (the product promises 1.0); `cross_checked_precision` the same for cross-checked
    answers (evidence, not a proof: measured, not promised); None when there were none."""

    variant: str
    questions: int
    accuracy: float
    statuses: dict[str, int]
    verified_precision: float | None
    cross_checked_precision: float | None
    truncation_rate: float
    median_tokens: float
    p90_tokens: float
    median_latency_s: float
    p90_latency_s: float
    by_group: dict[str, dict[str, tuple[int, int]]]  # field -> value -> (correct, total)
    latencies_s: tuple[float, ...] = ()  # per question, for the plots
    tokens: tuple[float, ...] = ()


def parse_ablations(text: str | None) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise ConfigError(
            f"unknown ablation {', '.join(unknown)}; choose from {', '.join(ABLATIONS)}"
        )
    return names


def ablated_settings(name: str, settings: Settings) -> Settings:
    """The full variant's settings with one thing taken away (retrieval is taken away by
    giving the agent no index, so its settings stay)."""
    if name == "verification":  # every check: SymPy's, the cross-checks and grounding
        return replace(
            settings, selection="majority", refuted_retries=0, sympy_answer=False,
            cross_checks=0, grounding=False,
        )  # fmt: skip
    if name == "sampling":
        return replace(settings, samples=1)
    if name == "cross-checks":
        return replace(settings, cross_checks=0)
    if name == "grounding":
        return replace(settings, grounding=False)
    return settings


def ablated_agent(full: Agent, name: str) -> Agent:
    """The full agent with one thing taken away (`ABLATIONS`), sharing its model, index and
    verifier (`Agent.variant`): nothing loads twice, and closing it leaves `full` whole."""
    settings = ablated_settings(name, full.settings)
    return full.variant(settings=settings, index=False if name == "retrieval" else None)


def run_evaluation(
    answerers: Mapping[str, tuple[Callable[[str], Any], Callable[[str, str], bool | None]]],
    rows: Sequence[QuestionRow],
    report_dir: Path,
    *,
    concurrency: int = 1,
    on_row: Callable[[dict[str, Any], Any], None] | None = None,
) -> list[VariantMetrics]:
    """Answer `rows` once per variant (`name -> (ask, grade)`), then write the report."""
    report_dir.mkdir(parents=True, exist_ok=True)
    for name, (ask, grade) in answerers.items():
        run_batch(
            ask, rows, report_dir / f"answers-{name}.jsonl",
            grade=grade, concurrency=concurrency, on_row=on_row,
        )  # fmt: skip
    return write_report(report_dir, list(answerers))


def metrics_of(variant: str, records: list[dict[str, Any]]) -> VariantMetrics:
    n = len(records)
    correct = [bool(r.get("correct")) for r in records]
    statuses = Counter(r["status"] for r in records)

    def precision(status: str) -> float | None:
        """The share of answers labelled `status` that were right; None when there were none."""
        right = [c for r, c in zip(records, correct, strict=True) if r["status"] == status]
        return sum(right) / len(right) if right else None

    tokens = [float(r.get("usage", {}).get("completion_tokens", 0)) for r in records]
    latency = [float(r.get("timings", {}).get("total_ms", 0.0)) / 1000 for r in records]
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for record, ok in zip(records, correct, strict=True):
        for key in ("subject", "level", "type"):
            value = (record.get("metadata") or {}).get(key)
            if value is not None:
                tally = groups[key][str(value)]
                tally[0] += ok
                tally[1] += 1
    return VariantMetrics(
        variant=variant,
        questions=n,
        accuracy=sum(correct) / n if n else 0.0,
        statuses=dict(statuses),
        verified_precision=precision("verified"),
        cross_checked_precision=precision("cross-checked"),
        truncation_rate=sum(bool(r.get("truncated")) for r in records) / n if n else 0.0,
        median_tokens=_quantile(tokens, 0.5),
        p90_tokens=_quantile(tokens, 0.9),
        median_latency_s=_quantile(latency, 0.5),
        p90_latency_s=_quantile(latency, 0.9),
        by_group={k: {v: (t[0], t[1]) for v, t in sorted(g.items())} for k, g in groups.items()},
        latencies_s=tuple(latency),
        tokens=tuple(tokens),
    )


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[int(q * 10) - 1]


def _read(path: Path) -> list[dict[str, Any]]:
    """A variant's answers as `run_batch` wrote them; a torn last line (a killed run) is left
    out, as a resumed run leaves it out, and any other bad line is a `RowError`."""
    if not path.exists():
        return []
    return [row for _, row in read_jsonl(path, torn_tail="drop")]


def write_report(report_dir: Path, variants: list[str]) -> list[VariantMetrics]:
    """summary.md and the plots, from the answer files in `report_dir`."""
    results = [metrics_of(v, _read(report_dir / f"answers-{v}.jsonl")) for v in variants]
    plots = _plot(report_dir, results)
    (report_dir / "summary.md").write_text(_markdown(results, plots), encoding="utf-8")
    return results


def _markdown(results: list[VariantMetrics], plots: list[str]) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    out = [
        "# Evaluation report",
        "",
        "| variant | questions | accuracy | verified | verified and right | cross-checked | "
        "cross-checked and right | refuted | unverified | errors | truncated | tokens p50 / p90 "
        "| latency p50 / p90 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        share = {k: m.statuses.get(k, 0) / m.questions if m.questions else 0 for k in m.statuses}
        out.append(
            f"| {m.variant} | {m.questions} | {pct(m.accuracy)} | {pct(share.get('verified', 0))}"
            f" | {pct(m.verified_precision)} | {pct(share.get('cross-checked', 0))}"
            f" | {pct(m.cross_checked_precision)} | {pct(share.get('refuted', 0))}"
            f" | {pct(share.get('unverified', 0))} | {m.statuses.get('error', 0)}"
            f" | {pct(m.truncation_rate)} | {m.median_tokens:.0f} / {m.p90_tokens:.0f}"
            f" | {m.median_latency_s:.1f} / {m.p90_latency_s:.1f} |"
        )
    out += [
        "",
        "`verified and right`: of the answers labelled verified, the share that matched the gold "
        "answer (the promise is 100%). `cross-checked and right`: the same for answers a "
        "solution and an independent program agreed on (evidence, not a proof).",
    ]
    for field_name in sorted({k for m in results for k in m.by_group}):
        out += ["", f"## Accuracy by {field_name}", ""]
        values = sorted({v for m in results for v in m.by_group.get(field_name, {})})
        out.append("| " + field_name + " | " + " | ".join(m.variant for m in results) + " |")
        out.append("|---" * (len(results) + 1) + "|")
        for value in values:
            cells = []
            for m in results:
                right, total = m.by_group.get(field_name, {}).get(value, (0, 0))
                cells.append(f"{right}/{total}" if total else "-")
            out.append(f"| {value} | " + " | ".join(cells) + " |")
    if plots:
        out += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(out) + "\n"


def _plot(report_dir: Path, results: list[VariantMetrics]) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display on servers and in CI
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtraError(
            "eval reports draw plots with matplotlib; pip install 'verimath[eval]'"
        ) from exc
    names = [m.variant for m in results]
    files = []

    figure, axis = plt.subplots(figsize=(6, 3.5))
    statuses = ["verified", "cross-checked", "refuted", "unverified", "refused", "error"]
    bottom = [0.0] * len(results)
    for status in statuses:
        shares = [m.statuses.get(status, 0) / max(m.questions, 1) for m in results]
        axis.bar(names, shares, bottom=bottom, label=status)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    axis.plot(names, [m.accuracy for m in results], "ko-", label="accuracy")
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of questions")
    axis.set_title("Status and accuracy by variant")
    axis.legend(fontsize=7, loc="upper right")
    files.append(_save(figure, report_dir, "status_accuracy.png"))

    group = next(
        (k for k in ("subject", "level", "type") if any(k in m.by_group for m in results)), None
    )
    if group:
        values = sorted({v for m in results for v in m.by_group.get(group, {})})
        figure, axis = plt.subplots(figsize=(max(6, len(values) * 0.8), 3.5))
        width = 0.8 / len(results)
        for i, m in enumerate(results):
            accuracy = [
                (lambda t: t[0] / t[1] if t[1] else 0.0)(m.by_group.get(group, {}).get(v, (0, 0)))
                for v in values
            ]
            axis.bar([j + i * width for j in range(len(values))], accuracy, width, label=m.variant)
        axis.set_xticks([j + 0.4 - width / 2 for j in range(len(values))], values, rotation=30)
        axis.set_ylim(0, 1)
        axis.set_ylabel("accuracy")
        axis.set_title(f"Accuracy by {group}")
        axis.legend(fontsize=7)
        files.append(_save(figure, report_dir, f"accuracy_by_{group}.png"))

    for field_name, label, filename in (
        ("latencies_s", "seconds per question", "latency.png"),
        ("tokens", "completion tokens per question", "tokens.png"),
    ):
        figure, axis = plt.subplots(figsize=(6, 3.5))
        series = [getattr(m, field_name) for m in results]
        bins = _histogram_bins(series)
        for m, values in zip(results, series, strict=True):
            axis.hist(values, bins=bins, alpha=0.5, label=m.variant)
        axis.set_xlabel(label)
        axis.set_ylabel("questions")
        axis.legend(fontsize=7)
        files.append(_save(figure, report_dir, filename))
    return files


def _histogram_bins(series: Sequence[Sequence[float]], count: int = 20) -> list[float]:
    """Bin edges shared by every variant's histogram, spanning all their values. Why: bins of
    each variant's own range are invisibly thin next to another variant's values (a batch's
    questions finish within milliseconds of each other, seconds apart from the next variant)."""
    values = [v for one in series for v in one]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5  # one value: a bar of unit width around it
    step = (high - low) / count
    return [low + i * step for i in range(count)] + [high]


def _save(figure: Any, report_dir: Path, name: str) -> str:
    figure.tight_layout()
    figure.savefig(report_dir / name, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return name
