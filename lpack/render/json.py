"""`--format json`: one versioned document per command (schema: rules/schema/)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from lpack.catalog import slim_categories
from lpack.errors import LpackError
from lpack.inspect.registry import Finding, counts
from lpack.target import Target

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.inspect.limits import LimitCheck
    from lpack.inspect.verify import VerifyResult
    from lpack.project import ProjectBuild
    from lpack.resolve.locking import LockResult
    from lpack.settings import ArtifactSpec, Project

JSON_VERSION = 1


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2)


def slim_json(result: BuildResult) -> dict[str, Any]:
    known = slim_categories()
    slim = result.slim
    files = slim.files_by_category()
    return {
        "enabled": slim.enabled,
        "saved": slim.total_saved,
        "by_category": [
            {
                "code": code,
                "name": known[code].name if code in known else "user drop globs",
                "bytes": saved,
                "files": files.get(code, 0),
            }
            for code, saved in slim.saved_by_category().items()
        ],
        "by_distribution": [
            {"name": name, "bytes": saved} for name, saved in slim.saved_by_distribution().items()
        ],
        "kept_imported": slim.kept_imported,
        "kept_read": [{"path": p, "why": why} for p, why in sorted(slim.kept_read.items())],
        "untouched_binaries": slim.untouched_binaries,
    }


def bytecode_json(result: BuildResult) -> dict[str, Any]:
    """The .pyc the build compiled for the target and what they cost."""
    done = result.slim.bytecode
    if done is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "python": done.python,
        "interpreter": done.interpreter,
        "cache_tag": done.cache_tag,
        "files": done.files,
        "unzipped_size": done.unzipped,
        "zipped_size": done.zipped(result.archive.entries) if result.archive else None,
        "compiled": done.compiled,
        "cached": done.cached,
        "failed": [{"path": p, "reason": why} for p, why in sorted(done.failed.items())],
    }


def dry_run_json(result: BuildResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "build --dry-run",
        "slim": slim_json(result),
        "removals": [
            {"path": r.path, "distribution": r.dist, "code": r.code, "size": r.size}
            for r in result.slim.removals
        ],
        "stripped": [
            {
                "path": s.path,
                "distribution": s.dist,
                "before": s.before,
                "after": s.after,
                "removed_sections": list(s.removed_sections),
            }
            for s in result.slim.stripped
        ],
        "warnings": result.warnings,
        "notes": result.notes,
    }


def target_json(target: Target) -> dict[str, Any]:
    return {
        "runtime": target.runtime,
        "arch": target.arch,
        "python": "{}.{}".format(*target.python_version),
        "os": target.os_name,
        "glibc": target.glibc_text,
    }


def _limit_json(c: LimitCheck) -> dict[str, Any]:
    return {
        "name": c.name,
        "label": c.label,
        "source": c.source,
        "limit": c.limit,
        "actual": c.actual,
        "share": round(c.share, 4),
        "exceeded": c.exceeded,
        "over_by": c.over_by,
    }


def _output_json(result: BuildResult) -> dict[str, Any]:
    archive = result.archive
    assert archive is not None
    return {
        "path": str(archive.path),
        "files": archive.file_count,
        "source_files": result.plan.source_files,
        "zipped_size": archive.zipped_size,
        "unzipped_size": archive.unzipped_size,
        "sha256": archive.sha256,
        "sha256_base64": archive.sha256_base64,
    }


def build_json(result: BuildResult, verified: VerifyResult | None = None) -> dict[str, Any]:
    spec, lock, wheels = result.spec, result.lock, result.wheels
    data = {
        "version": JSON_VERSION,
        "command": "build",
        "ok": result.ok,
        "rebuilt": True,
        "target": target_json(spec.target),
        "lock": {
            "path": str(lock.lockfile.path),
            "input": lock.requirements.label,
            "pins": len(lock.lockfile.pins),
            "reused": lock.reused,
        },
        "fetch": {
            "wheels": len(wheels),
            "cached": sum(1 for w in wheels if w.cached),
            "built_from_sdist": sorted(w.name for w in wheels if w.built_from_sdist),
        },
        "handler": {
            "handler": result.handler.handler,
            "configured": result.handler.configured,
            "note": result.handler.note,
        },
        "output": _output_json(result),
        "upload": spec.upload,
        "limits": [_limit_json(c) for c in result.limits],
        "remedy": result.remedy,
        "distributions": [
            {
                "name": d.name,
                "version": d.version,
                "files": d.files,
                "unzipped_size": d.unzipped,
                "zipped_size": d.zipped,
            }
            for d in result.sizes_by_distribution
        ],
        "slim": slim_json(result),
        "bytecode": bytecode_json(result),
        "lint": findings_json(result.findings, spec.target),
        "warnings": result.warnings,
        "notes": result.notes,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }
    if verified is not None:
        data["verify"] = verify_json(verified)
    return data


def lock_json(result: LockResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "lock",
        "path": str(result.lockfile.path),
        "input": result.requirements.label,
        "target": result.lockfile.header.get("target", ""),
        "reused": result.reused,
        "defers_to": result.defers_to,
        "changes": [{"name": n, "old": o, "new": w} for n, o, w in result.changes],
        "notes": list(result.notes),
        "pins": [
            {"name": p.name, "version": p.version, "hashes": len(p.hashes)}
            for p in result.lockfile.pins
        ],
    }


def error_json(error: LpackError) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "ok": False,
        "error": {
            "type": error.public_name or type(error).__name__,
            "message": error.message,
            "details": error.details,
            "hint": error.hint,
            "exit_code": error.exit_code,
        },
    }


def verify_json(result: VerifyResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "verify",
        "ok": result.ok,
        "artifact": str(result.artifact),
        "python": str(result.python),
        "emulator": result.emulator or None,  # the qemu-user program python ran under
        "user": result.user,
        "isolation": result.isolation,
        "imports": [
            {"module": r.module, "ok": r.ok, "detail": r.detail, "traceback": r.traceback}
            for r in result.imports
        ],
        "metadata": [{"name": r.module, "ok": r.ok, "detail": r.detail} for r in result.metadata],
        "invoke": result.invoke,
        "libraries": None
        if result.libraries is None
        else {
            "runtime": result.libraries.runtime,
            "interpreter": result.libraries.interpreter,
            "covered": result.libraries.covered,
            "uncovered": result.libraries.uncovered,
        },
        "profile": _profile_json(result),
    }


def _profile_json(result: VerifyResult) -> dict[str, Any] | None:
    """verify --profile: null when not asked for; {"skipped": why} when there was none."""
    profile = result.profile
    if profile is None:
        return {"skipped": result.profile_skipped} if result.profile_skipped else None
    return {
        "module": profile.module,
        "import_seconds": round(profile.seconds, 4),
        "runs": profile.runs,
        "bytecode": profile.bytecode,
        "from_pyc": profile.from_pyc,
        "from_source": profile.from_source,
        "stale_pyc": profile.stale_pyc,
        "heaviest": [
            {
                "module": h.module,
                "cumulative_us": h.cumulative_us,
                "self_us": h.self_us,
                "imported_by": h.imported_by,
            }
            for h in profile.heaviest
        ],
    }


def findings_json(
    findings: list[Finding], target: Target, statistics: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": JSON_VERSION,
        "command": "lint",
        "target": {"runtime": target.runtime, "arch": target.arch},
        "counts": counts(findings),
        "findings": [
            {
                "code": f.code,
                "name": f.name,
                "severity": f.severity,
                "artifact": f.artifact,
                "path": f.path,
                # every member: a finding grouped per distribution shows one as its path
                "paths": list(f.paths) if f.paths else [f.path] if f.path else [],
                "message": f.message,
            }
            for f in findings
        ],
    }
    if statistics:  # lint --statistics
        from lpack.inspect.lint import statistics as rule_counts

        data["statistics"] = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity,
                "count": r.count,
                "paths": r.paths,
            }
            for r in rule_counts(findings)
        ]
    return data


def artifact_json(spec: ArtifactSpec) -> dict[str, Any]:
    root = spec.project_dir
    return {
        "name": spec.name,
        "kind": spec.kind,
        "runtime": spec.runtime,
        "arch": spec.arch,
        "layers": list(spec.layers),
        "output": os.path.relpath(spec.output_path, root),
        "lock": os.path.relpath(spec.lock_path, root),
        "source": spec.source,
    }


def artifacts_json(project: Project, specs: list[ArtifactSpec]) -> dict[str, Any]:
    """`build --list`: what a CI matrix fans out over (`jq -c '[.artifacts[].name]'`)."""
    return {
        "version": JSON_VERSION,
        "command": "build --list",
        "project": str(project.root),
        "artifacts": [artifact_json(s) for s in specs],
    }


def project_build_json(built: ProjectBuild, verified: dict[str, VerifyResult]) -> dict[str, Any]:
    artifacts = []
    for outcome in built.outcomes:
        result = outcome.result
        record: dict[str, Any] = {
            "name": outcome.spec.name,
            "kind": outcome.spec.kind,
            "rebuilt": outcome.rebuilt,
            "manifest": outcome.entry.to_json() if outcome.entry else None,
            "left_out": [
                {"name": o.name, "version": o.version, "layer": o.layer, "size": o.size}
                for o in (result.left_out if result else [])
            ],
            "build": None,
        }
        if result is not None:
            record["build"] = build_json(result) if result.archive else dry_run_json(result)
        if outcome.spec.name in verified:
            record["verify"] = verify_json(verified[outcome.spec.name])
        artifacts.append(record)
    return {
        "version": JSON_VERSION,
        "command": "build",
        "ok": built.ok and all(v.ok for v in verified.values()),
        "manifest": str(built.manifest.path),
        "artifacts": artifacts,
    }
