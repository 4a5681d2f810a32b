"""The statistics ``eval`` reports: a Wilson interval per rate, an exact sign test per pair.

Both are exact closed forms over small integers (no sampling, no floating-point search), so
a replayed run prints the same digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The normal quantile for a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / total`` (``(0, 1)`` when ``total`` is 0).

    Chosen over the normal approximation because it stays inside [0, 1] and behaves at
    0/n and n/n, which small prompt evaluations hit all the time.
    """
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be between 0 and {total}, not {successes}")
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    denominator = 1 + z2 / total
    low = 0.0 if successes == 0 else max(0.0, (centre - spread) / denominator)
    high = 1.0 if successes == total else min(1.0, (centre + spread) / denominator)
    return low, high


def sign_test_p(wins: int, losses: int) -> float:
    """Exact two-sided sign test p-value for ``wins`` against ``losses`` (ties dropped).

    Under the null each untied pair is a fair coin: p = P(|W - n/2| >= |wins - n/2|).
    """
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return float(min(1.0, 2 * tail / 2**n))


@dataclass(frozen=True)
class PairedComparison:
    """Set ``candidate`` against set ``baseline`` on the same (fixture, seed) pairs."""

    baseline: str
    candidate: str
    measure: str  # "valid" or "passed"
    wins: int  # candidate succeeded where the baseline did not
    losses: int
    ties: int

    @property
    def p_value(self) -> float:
        return sign_test_p(self.wins, self.losses)


def compare(
    baseline: str,
    candidate: str,
    measure: str,
    base_outcomes: dict[tuple[str, int], bool],
    cand_outcomes: dict[tuple[str, int], bool],
) -> PairedComparison:
    """Pair the outcomes by key (fixture, sample); keys only one side has are skipped."""
    wins = losses = ties = 0
    for key in sorted(base_outcomes.keys() & cand_outcomes.keys()):
        b, c = base_outcomes[key], cand_outcomes[key]
        if c and not b:
            wins += 1
        elif b and not c:
            losses += 1
        else:
            ties += 1
    return PairedComparison(baseline, candidate, measure, wins, losses, ties)
