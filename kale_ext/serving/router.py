"""Versions of one served model and the deterministic weighted split of its traffic (KServe's canaryTrafficPercent).

Smooth weighted round-robin (nginx's): each pick adds every version's weight to its credit, takes the version with the
most credit and subtracts the total from it. The picks repeat with period 100 and every window of 100 consecutive
picks holds each version within one request of its percentage, so any 1,000 consecutive requests honour the split
within 0.1 point. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any


class Router:
    """Picks a version for each request that names none; ``traffic`` maps version -> percent (summing to 100)."""

    def __init__(self, traffic: dict[str, int]):
        self.traffic = {v: int(p) for v, p in traffic.items() if int(p) > 0}
        self._credit = dict.fromkeys(self.traffic, 0)
        self._total = sum(self.traffic.values())

    def pick(self) -> str | None:
        if not self.traffic:
            return None
        best = None
        for version, weight in self.traffic.items():
            self._credit[version] += weight
            if best is None or self._credit[version] > self._credit[best]:
                best = version
        assert best is not None
        self._credit[best] -= self._total
        return best

    def primary(self) -> str | None:
        """The version carrying the most traffic (the stable one of a canary pair; the lower version on a tie)."""
        if not self.traffic:
            return None
        return max(self.traffic, key=lambda v: (self.traffic[v], -_version_key(v)))


def _version_key(version: str) -> int:
    return int(version) if version.isdigit() else 0


def validate_traffic(name: str, versions: dict[str, Any], traffic: dict[str, Any]) -> dict[str, int]:
    """The split of one model from state.json; versions missing from it, or a split not summing to 100, are refused."""
    unknown = [v for v in traffic if v not in versions]
    if unknown:
        raise ValueError(f"model {name}: traffic names versions {unknown} that are not among {sorted(versions)}")
    split = {str(v): int(p) for v, p in traffic.items()}
    if any(p < 0 for p in split.values()) or (split and sum(split.values()) != 100):
        raise ValueError(f"model {name}: traffic {split} must be non-negative percentages summing to 100")
    if not split and versions:
        split = {max(versions, key=_version_key): 100}
    return split
