"""Lambda's size limits, and which of them apply to how the zip is uploaded."""

from __future__ import annotations

from dataclasses import dataclass

ZIPPED_LIMIT = 52_428_800  # 50 MiB: direct upload to the Lambda API
UNZIPPED_LIMIT = 262_144_000  # 250 MiB: function plus all its layers, unzipped


@dataclass(frozen=True)
class LimitCheck:
    name: str  # "zipped" | "unzipped"
    label: str
    limit: int
    actual: int
    source: str  # "lambda" or "budget"

    @property
    def exceeded(self) -> bool:
        return self.actual > self.limit

    @property
    def over_by(self) -> int:
        return max(0, self.actual - self.limit)

    @property
    def share(self) -> float:
        return self.actual / self.limit if self.limit else 0.0


def check_limits(
    zipped: int,
    unzipped: int,
    upload: str,
    max_zipped: int | None = None,
    max_unzipped: int | None = None,
) -> list[LimitCheck]:
    checks = []
    if upload == "direct":
        checks.append(LimitCheck("zipped", "50 MiB zipped", ZIPPED_LIMIT, zipped, "lambda"))
    checks.append(LimitCheck("unzipped", "250 MiB unzipped", UNZIPPED_LIMIT, unzipped, "lambda"))
    if max_zipped is not None:
        checks.append(
            LimitCheck("zipped", f"budget {max_zipped:,} B zipped", max_zipped, zipped, "budget")
        )
    if max_unzipped is not None:
        checks.append(
            LimitCheck(
                "unzipped", f"budget {max_unzipped:,} B unzipped", max_unzipped, unzipped, "budget"
            )
        )
    return checks


def upload_note(upload: str) -> str:
    if upload == "direct":
        return (
            "direct upload (Lambda API, Terraform `filename`, console): 50 MiB zipped and "
            "250 MiB unzipped apply"
        )
    return (
        "upload through S3 (SAM, Serverless, CDK): only 250 MiB unzipped applies, "
        "the 50 MiB zipped limit does not"
    )
