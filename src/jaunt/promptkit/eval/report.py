"""Aggregate an :class:`EvalRun` and format it: text, Markdown, JSON, and the attempts file.

Everything here is a pure function of the run: no clock, no host name, no cache statistics,
so a replay from the response cache gives byte-identical reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jaunt.promptkit.eval.runner import EvalRun, SampleResult
from jaunt.promptkit.eval.stats import PairedComparison, compare, wilson_interval
from jaunt.promptkit.pricing import ModelPrice, known_price
from jaunt.promptkit.scrub import scrub_data

REPORT_FORMAT = 1


@dataclass
class Tally:
    """Counts over a group of samples (one fixture of one set, or a whole set)."""

    samples: int = 0
    valid: int = 0
    first_attempt_valid: int = 0
    checked: int = 0  # samples whose checks ran (0: --run-checks not given or no checks)
    passed: int = 0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float | None = 0.0

    def add(self, sample: SampleResult, price: ModelPrice | None) -> None:
        self.samples += 1
        self.valid += sample.valid
        self.first_attempt_valid += sample.first_attempt_valid
        if sample.passed is not None:
            self.checked += 1
            self.passed += sample.passed
        self.attempts += len(sample.attempts)
        usage = sample.usage
        self.input_tokens += usage.prompt_tokens
        self.output_tokens += usage.completion_tokens
        self.cached_input_tokens += usage.cached_prompt_tokens
        self.latency_s += sample.latency_s
        if price is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += price.cost(
                input_tokens=usage.prompt_tokens,
                cached_input_tokens=usage.cached_prompt_tokens,
                output_tokens=usage.completion_tokens,
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "valid": self.valid,
            "first_attempt_valid": self.first_attempt_valid,
            "passed": self.passed if self.checked else None,
            "checked": self.checked,
            "attempts": self.attempts,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "mean_latency_s": round(self.latency_s / self.samples, 3) if self.samples else 0.0,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
        }


@dataclass
class SetSummary:
    name: str
    fixtures: list[tuple[str, str, Tally]]  # (fixture, kind, tally)
    total: Tally


@dataclass
class Summary:
    run: EvalRun
    sets: list[SetSummary]
    comparisons: list[PairedComparison]
    priced: bool


def summarise(run: EvalRun) -> Summary:
    price = known_price(run.settings.llm.model)
    sets: list[SetSummary] = []
    for name in run.set_names:
        mine = [s for s in run.samples if s.set_name == name]
        rows: list[tuple[str, str, Tally]] = []
        total = Tally()
        for fixture in run.fixtures:
            tally = Tally()
            for sample in mine:
                if sample.fixture == fixture.name:
                    tally.add(sample, price)
                    total.add(sample, price)
            rows.append((fixture.name, fixture.context.kind, tally))
        sets.append(SetSummary(name, rows, total))
    comparisons: list[PairedComparison] = []
    checks_ran = any(s.passed is not None for s in run.samples)
    baseline = run.set_names[0] if run.set_names else ""
    for candidate in run.set_names[1:]:
        for measure in ("valid", "passed") if checks_ran else ("valid",):
            comparisons.append(
                compare(
                    baseline,
                    candidate,
                    measure,
                    _outcomes(run.samples, baseline, measure),
                    _outcomes(run.samples, candidate, measure),
                )
            )
    return Summary(run, sets, comparisons, price is not None)


def _outcomes(
    samples: Sequence[SampleResult], name: str, measure: str
) -> dict[tuple[str, int], bool]:
    return {
        (s.fixture, s.seed): (s.valid if measure == "valid" else bool(s.passed))
        for s in samples
        if s.set_name == name
    }


# --- formats -----------------------------------------------------------------------------------


def _rate(count: int, total: int) -> str:
    if total == 0:
        return "-"
    low, high = wilson_interval(count, total)
    return f"{count}/{total} {count / total:.0%} [{low:.0%}, {high:.0%}]"


def _passed(tally: Tally) -> str:
    return f"{tally.passed}/{tally.checked}" if tally.checked else "-"


def _cost(tally: Tally) -> str:
    return "n/a" if tally.cost_usd is None else f"${tally.cost_usd:.4f}"


def _settings_line(run: EvalRun) -> str:
    s = run.settings
    temperature = "server default" if s.llm.temperature is None else f"{s.llm.temperature:g}"
    seeds = f"{s.seed}" if s.samples == 1 else f"{s.seed}-{s.seed + s.samples - 1}"
    return (
        f"model {s.llm.model}, temperature {temperature}, max output tokens "
        f"{s.llm.max_output_tokens}, {s.samples} sample(s) per fixture (seeds {seeds}), "
        f"{s.attempts} attempt(s), checks {'run' if s.run_checks else 'not run'}"
    )


def _comparison_line(c: PairedComparison) -> str:
    verdict = "larger than chance (p < 0.05)" if c.p_value < 0.05 else "within chance"
    return (
        f"{c.candidate} vs {c.baseline} on {c.measure}: {c.wins} wins, {c.losses} losses, "
        f"{c.ties} ties; sign test p = {c.p_value:.3g} ({verdict})"
    )


def format_text(summary: Summary) -> str:
    lines = [_settings_line(summary.run), ""]
    header = (
        "fixture",
        "kind",
        "n",
        "valid",
        "1st",
        "passed",
        "in tok",
        "out tok",
        "cached",
        "s/gen",
        "cost",
    )
    for st in summary.sets:
        t = st.total
        lines.append(
            f"set {st.name}: valid {_rate(t.valid, t.samples)}; first attempt "
            f"{_rate(t.first_attempt_valid, t.samples)}; passed "
            f"{_rate(t.passed, t.checked) if t.checked else '- (checks not run)'}; cost {_cost(t)}"
        )
        rows: list[tuple[str, ...]] = [header]
        for fixture, kind, tally in st.fixtures:
            rows.append(_row(fixture, kind, tally))
        rows.append(_row("total", "", t))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            cells = [
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
        lines.append("")
    for c in summary.comparisons:
        lines.append(_comparison_line(c))
    return "\n".join(lines).rstrip() + "\n"


def _row(fixture: str, kind: str, t: Tally) -> tuple[str, ...]:
    mean = t.latency_s / t.samples if t.samples else 0.0
    return (
        fixture,
        kind,
        str(t.samples),
        str(t.valid),
        str(t.first_attempt_valid),
        _passed(t),
        str(t.input_tokens),
        str(t.output_tokens),
        str(t.cached_input_tokens),
        f"{mean:.1f}",
        _cost(t),
    )


def format_markdown(summary: Summary) -> str:
    lines = [f"{_settings_line(summary.run)}.", ""]
    lines.append(
        "| set | valid (95% CI) | valid on 1st attempt | passed checks | tokens in / out "
        "| s per generation | cost |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for st in summary.sets:
        t = st.total
        mean = t.latency_s / t.samples if t.samples else 0.0
        lines.append(
            f"| {st.name} | {_rate(t.valid, t.samples)} "
            f"| {_rate(t.first_attempt_valid, t.samples)} "
            f"| {_rate(t.passed, t.checked) if t.checked else '-'} "
            f"| {t.input_tokens} / {t.output_tokens} | {mean:.1f} | {_cost(t)} |"
        )
    lines += [
        "",
        "| fixture | kind | "
        + " | ".join(f"{s.name} valid (1st) / passed" for s in summary.sets)
        + " |",
    ]
    lines.append("|---|---|" + "---|" * len(summary.sets))
    for index, (fixture, kind, _) in enumerate(summary.sets[0].fixtures if summary.sets else []):
        cells = []
        for st in summary.sets:
            t = st.fixtures[index][2]
            cells.append(f"{t.valid}/{t.samples} ({t.first_attempt_valid}) / {_passed(t)}")
        lines.append(f"| {fixture} | {kind} | " + " | ".join(cells) + " |")
    if summary.comparisons:
        lines.append("")
        lines += [f"- {_comparison_line(c)}" for c in summary.comparisons]
    return "\n".join(lines) + "\n"


def format_json(summary: Summary) -> str:
    s = summary.run.settings
    data: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "model": s.llm.model,
        "temperature": s.llm.temperature,
        "max_output_tokens": s.llm.max_output_tokens,
        "samples": s.samples,
        "seed": s.seed,
        "attempts": s.attempts,
        "checks_run": s.run_checks,
        "sets": [],
        "comparisons": [
            {
                "baseline": c.baseline,
                "candidate": c.candidate,
                "measure": c.measure,
                "wins": c.wins,
                "losses": c.losses,
                "ties": c.ties,
                "p_value": round(c.p_value, 6),
            }
            for c in summary.comparisons
        ],
    }
    for st in summary.sets:
        totals = st.total.as_json()
        low, high = wilson_interval(st.total.valid, st.total.samples)
        totals["valid_rate"] = (
            round(st.total.valid / st.total.samples, 6) if st.total.samples else None
        )
        totals["valid_ci95"] = [round(low, 6), round(high, 6)]
        if st.total.checked:
            low, high = wilson_interval(st.total.passed, st.total.checked)
            totals["passed_rate"] = round(st.total.passed / st.total.checked, 6)
            totals["passed_ci95"] = [round(low, 6), round(high, 6)]
        data["sets"].append(
            {
                "name": st.name,
                "fixtures": [
                    {"fixture": fixture, "kind": kind, **tally.as_json()}
                    for fixture, kind, tally in st.fixtures
                ],
                "totals": totals,
            }
        )
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def attempt_lines(run: EvalRun) -> list[str]:
    """The attempts file: one JSON object per attempt, in run order."""
    lines: list[str] = []
    for sample in run.samples:
        for attempt in sample.attempts:
            usage = attempt.usage
            record = {
                "set": sample.set_name,
                "fixture": sample.fixture,
                "sample": sample.sample,
                "seed": sample.seed,
                "attempt": attempt.number,
                "messages_sha256": attempt.messages_sha256,
                "raw_answer": attempt.raw_answer,
                "source": attempt.source,
                "errors": attempt.errors,
                "usage": None
                if usage is None
                else {
                    "input_tokens": usage.prompt_tokens,
                    "output_tokens": usage.completion_tokens,
                    "cached_input_tokens": usage.cached_prompt_tokens,
                },
                "finish_reason": attempt.finish_reason,
                "latency_s": attempt.latency_s,
                "valid": sample.valid and attempt.number == len(sample.attempts),
                "passed": sample.passed if attempt.number == len(sample.attempts) else None,
                "check_detail": sample.check_detail
                if attempt.number == len(sample.attempts)
                else "",
            }
            # Model text may echo a key: the file leaves the process, so it is scrubbed.
            lines.append(json.dumps(scrub_data(record), ensure_ascii=False))
    return lines


def thresholds_missed(
    summary: Summary, min_valid: float | None, min_passed: float | None
) -> list[str]:
    """One message per set whose valid (or passed) share is below its threshold."""
    missed: list[str] = []
    for st in summary.sets:
        t = st.total
        if min_valid is not None and t.samples and t.valid / t.samples < min_valid:
            missed.append(
                f"set {st.name}: valid {t.valid}/{t.samples} = {t.valid / t.samples:.1%} "
                f"< --min-valid {min_valid:.1%}"
            )
        if min_passed is not None:
            share = t.passed / t.checked if t.checked else 0.0
            if share < min_passed:
                missed.append(
                    f"set {st.name}: passed {t.passed}/{t.checked} = {share:.1%} "
                    f"< --min-passed {min_passed:.1%}"
                )
    return missed
