"""LP1xx: Lambda's size limits, the user's budgets, and files large enough to matter."""

from __future__ import annotations

from collections.abc import Iterator

from lpack.facts import mib
from lpack.inspect.limits import LimitCheck, check_limits, zipped_limit
from lpack.inspect.registry import Context, Finding, check, files, finding
from lpack.inspect.remedy import dependency_names, remedy, weights_of
from lpack.units import human_bytes


def _function_checks(ctx: Context) -> list[LimitCheck]:
    """The function's limit and budget checks: its zip, and the unzipped size of the
    function with all its layers (Lambda counts them together)."""
    first = ctx.packages[0]
    total = sum(c.unzipped_size for c in ctx.packages)
    options = ctx.options
    return check_limits(
        first.zipped_size,
        total,
        options.upload,
        options.max_zipped,
        options.max_unzipped,
        layered=len(ctx.packages) > 1,
    )


@check("LP101")
def zipped_limit_exceeded(ctx: Context) -> Iterator[Finding]:
    if ctx.options.upload != "direct":
        return
    for contents in ctx.packages:  # each zip is uploaded on its own: layers too
        if contents.zipped_size is not None:
            limit = zipped_limit(contents.zipped_size)
            if limit.exceeded:
                total = sum(c.unzipped_size for c in ctx.packages)
                if contents is not ctx.packages[0]:
                    total = contents.unzipped_size  # a layer: its own zip, its own remedy
                needs = {d.name: dependency_names(d.requires) for d in contents.distributions}
                weights = weights_of(contents.files, needs)
                fix = remedy(weights, limit.actual, total, "direct", len(ctx.packages) - 1)
                yield finding("LP101", contents, None, f"{limit.message()}. Remedy: {fix}.")


@check("LP102")
def unzipped_limit_exceeded(ctx: Context) -> Iterator[Finding]:
    for limit in _function_checks(ctx):
        if limit.code == "LP102" and limit.exceeded:
            every = weights_of(item for c in ctx.packages for item in c.files)
            fix = remedy(every, None, limit.actual, ctx.options.upload)
            yield finding("LP102", ctx.packages[0], None, f"{limit.message()}. Remedy: {fix}.")


@check("LP103")
def budgets(ctx: Context) -> Iterator[Finding]:
    for limit in _function_checks(ctx):
        if limit.code == "LP103" and limit.exceeded:
            yield finding("LP103", ctx.packages[0], None, limit.message())


@check("LP104")
def near_limit(ctx: Context) -> Iterator[Finding]:
    share = ctx.options.near_limit
    unzipped_first = sorted(_function_checks(ctx), key=lambda limit: limit.name == "zipped")
    for limit in unzipped_first:
        if limit.source != "lambda" or not share * limit.limit < limit.actual <= limit.limit:
            continue
        if limit.name == "unzipped":
            what, of = f"unzipped size {human_bytes(limit.actual)} is", "limit"
        else:
            what, of = f"zip is {human_bytes(limit.actual)},", "direct-upload limit"
        message = f"{what} {limit.share:.0%} of the {mib(limit.limit)} {of}"
        yield finding("LP104", ctx.packages[0], None, message)


@check("LP105")
def large_files(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            if item.size > ctx.options.large_file:
                yield finding(
                    "LP105",
                    contents,
                    item.path,
                    f"{human_bytes(item.size)}, above large-file = {human_bytes(ctx.options.large_file)}",
                )
