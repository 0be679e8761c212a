"""Lambda's size limits and the user's budgets, measured against a package, worded once.

Lint rules LP101–LP103, the build summary, `lpack check` and `lpack gate` all take their
checks and messages from here; the limits themselves come from rules/lambda.toml.
"""

from __future__ import annotations

from dataclasses import dataclass

from lpack.facts import facts
from lpack.units import exact_bytes, human_bytes

# The lint codes whose findings are these checks: a build reports them in its limits section.
LIMIT_CODES = ("LP101", "LP102", "LP103")


def mib_text(n: int) -> str:
    return exact_bytes(n)


@dataclass(frozen=True)
class LimitCheck:
    name: str  # "zipped" | "unzipped"
    label: str
    limit: int
    actual: int
    source: str  # "lambda" or "budget"
    layered: bool = False  # the unzipped size counts the function's layers too

    @property
    def exceeded(self) -> bool:
        return self.actual > self.limit

    @property
    def over_by(self) -> int:
        return max(0, self.actual - self.limit)

    @property
    def share(self) -> float:
        return self.actual / self.limit if self.limit else 0.0

    @property
    def code(self) -> str:
        """The lint rule that reports this check when it fails."""
        if self.source == "budget":
            return "LP103"
        return "LP101" if self.name == "zipped" else "LP102"

    def message(self) -> str:
        """What failed, in the words lint, gate and check all use."""
        if self.source == "budget":
            what = "zip" if self.name == "zipped" else "unzipped size"
            return (
                f"{what} is {exact_bytes(self.actual)}, over the budget of "
                f"{exact_bytes(self.limit)} by {exact_bytes(self.over_by)}"
            )
        if self.name == "zipped":
            return (
                f"zip is {exact_bytes(self.actual)}, {exact_bytes(self.over_by)} over the "
                f"{human_bytes(self.limit)} direct-upload limit"
            )
        what = "function and layers unzip" if self.layered else "package unzips"
        return (
            f"{what} to {exact_bytes(self.actual)}, {exact_bytes(self.over_by)} over "
            f"{exact_bytes(self.limit)}"
        )


def zipped_limit(zipped: int) -> LimitCheck:
    known = facts()
    return LimitCheck("zipped", known.zipped_label, known.zipped_limit, zipped, "lambda")


def check_limits(
    zipped: int | None,
    unzipped: int,
    upload: str,
    max_zipped: int | None = None,
    max_unzipped: int | None = None,
    layered: bool = False,
) -> list[LimitCheck]:
    """The checks that apply: the zipped limit only for a direct upload (zipped is None
    for a folder, which has no zip size), the unzipped one always, then the budgets."""
    known = facts()
    checks = []
    if upload == "direct" and zipped is not None:
        checks.append(zipped_limit(zipped))
    checks.append(
        LimitCheck(
            "unzipped", known.unzipped_label, known.unzipped_limit, unzipped, "lambda", layered
        )
    )
    if max_zipped is not None and zipped is not None:
        checks.append(
            LimitCheck(
                "zipped", f"budget {human_bytes(max_zipped)} zipped", max_zipped, zipped, "budget"
            )
        )
    if max_unzipped is not None:
        checks.append(
            LimitCheck(
                "unzipped",
                f"budget {human_bytes(max_unzipped)} unzipped",
                max_unzipped,
                unzipped,
                "budget",
                layered,
            )
        )
    return checks


def upload_note(upload: str) -> str:
    known = facts()
    both = f"{known.zipped_label} and {known.unzipped_label} apply"
    if upload == "direct":
        return f"direct upload: {both}"
    return f"S3 upload: {known.unzipped_label} applies, {known.zipped_label} does not"
