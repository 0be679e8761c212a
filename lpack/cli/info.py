"""rules, explain and runtimes: what lpack knows, read from rules/."""

from __future__ import annotations

import sys

import click

from lpack.catalog import lint_rules, slim_categories
from lpack.errors import EXIT_USAGE
from lpack.target import Target, arches, runtimes


@click.command(name="rules")
def rules_command() -> None:
    """List every coded rule: lint checks (LP1xx-LP5xx) and slimming categories (LP8xx)."""
    for code, rule in lint_rules().items():
        click.echo(f"{code}  {rule.severity:<7}  {rule.name:<26} {rule.summary}")
    for code, cat in slim_categories().items():
        state = "slim on" if cat.default else "slim off"
        click.echo(f"{code}  {state:<7}  {cat.name:<26} {cat.summary}")


@click.command(name="explain")
@click.argument("code")
def explain_command(code: str) -> None:
    """Explain one rule: what it flags or removes, why, and how to fix it."""
    code = code.upper()
    rule = lint_rules().get(code)
    if rule is not None:
        click.echo(f"{rule.code} {rule.name} ({rule.severity})\n")
        click.echo(f"{rule.summary}.\n")
        click.echo(f"Why: {rule.why}\n")
        click.echo(f"Example: {rule.example}\n")
        click.echo(f"Fix: {rule.fix}")
        for key, value in rule.params.items():
            click.echo(f"\nSetting: [tool.lpack.lint] {key} (default {value}).")
        return
    cat = slim_categories().get(code)
    if cat is None:
        click.echo(f"error: unknown rule code {code!r}; `lpack rules` lists them.", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{cat.code} {cat.name} (slimming, {'on' if cat.default else 'off'} by default)\n")
    click.echo(f"{cat.summary}.\n")
    click.echo(f"Why it is safe: {cat.why}\n")
    click.echo(f"What it saves: {cat.saves}.")
    if not cat.default:
        click.echo(
            f"\nTurn it on with --slim-enable {cat.code} or "
            f'[tool.lpack.slim] enable = ["{cat.code}"].'
        )


@click.command(name="runtimes")
def runtimes_command() -> None:
    """List the Lambda runtimes lpack targets, with their OS and glibc."""
    for name in runtimes():
        t = Target.from_names(name, "x86_64")
        click.echo(
            f"{name:<11} Python {t.python_version[0]}.{t.python_version[1]}  "
            f"{t.os_name:<18} glibc {t.glibc_text}  arches: {', '.join(arches())}"
        )


COMMANDS = [rules_command, explain_command, runtimes_command]
