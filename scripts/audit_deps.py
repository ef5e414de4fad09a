"""Audit Gatehouse's installed dependencies against PyPI's vulnerability data.

Walks the requirement tree of the installed ``gatehouse`` distribution (every extra),
looks each package up on PyPI's JSON API and fails when:

* any installed version has a known vulnerability (PYSEC/GHSA/CVE ids printed);
* PyPI cannot be reached at all (no silent pass: the message says so);
* a package's installed version cannot be looked up, so it was *not* audited.

PyPI answers ``/pypi/<name>/<version>/json`` with that version's vulnerabilities; where
only ``/pypi/<name>/json`` answers, its list is the latest release's, so it audits an
installed version only when that is the latest.  Run by ``make test``::

    .venv/bin/python scripts/audit_deps.py            # exit 0 only when all audited, clean
    .venv/bin/python scripts/audit_deps.py --json     # the findings as JSON
    .venv/bin/python scripts/audit_deps.py --accept-unaudited websockets   # see below

``--accept-unaudited NAME`` names a package that another dependency pins below its latest
release (amqtt pins ``websockets``, schemathesis pins ``jsonschema-rs``), so PyPI's data
cannot speak for it: it is still printed as NOT AUDITED on every run, but does not fail it.

``GATEHOUSE_AUDIT_INDEX`` points it at another JSON API with PyPI's shape (a mirror).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

INDEX = os.environ.get("GATEHOUSE_AUDIT_INDEX", "https://pypi.org/pypi")
ROOT = "gatehouse"


@dataclass
class Finding:
    """What PyPI says about one installed package."""

    name: str
    version: str
    audited: bool = False
    vulns: list[str] = field(default_factory=list)
    note: str = ""


def dependency_tree(root: str = ROOT) -> dict[str, str]:
    """``{name: installed version}`` of every package *root* needs, with all its extras."""
    seen: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = []
    dist = md.distribution(root)
    extras = frozenset(dist.metadata.get_all("Provides-Extra") or [])
    todo.append((root, extras | {""}))
    while todo:
        name, wanted = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            key = canonicalize_name(req.name)
            if key in seen:
                continue
            try:
                seen[key] = md.version(req.name)
            except md.PackageNotFoundError:
                continue
            todo.append((req.name, frozenset(req.extras) | {""}))
    return seen


def _get(url: str, timeout: float) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.load(r)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def _ids(vulns: list[dict]) -> list[str]:
    return [v.get("id", "?") + "".join(f"/{a}" for a in v.get("aliases", [])[:1]) for v in vulns]


def audit(name: str, version: str, timeout: float = 15.0) -> Finding:
    """Look *name* *version* up on PyPI."""
    found = Finding(name, version)
    exact = _get(f"{INDEX}/{name}/{version}/json", timeout)
    if exact is not None:
        found.audited, found.vulns = True, _ids(exact.get("vulnerabilities") or [])
        return found
    project = _get(f"{INDEX}/{name}/json", timeout)
    if project is None:
        found.note = "not on PyPI"
    elif project["info"]["version"] == version:
        found.audited, found.vulns = True, _ids(project.get("vulnerabilities") or [])
    else:
        latest = project["info"]["version"]
        found.note = f"PyPI serves vulnerability data for {latest} only, not {version}"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print findings as JSON")
    parser.add_argument(
        "--accept-unaudited",
        action="append",
        default=[],
        metavar="NAME",
        help="a package pinned by another whose version PyPI holds no data for: still "
        "listed as NOT AUDITED, but does not fail the run (repeatable)",
    )
    args = parser.parse_args(argv)
    accepted = {canonicalize_name(n) for n in args.accept_unaudited}
    try:
        _get(f"{INDEX}/pip/json", 15.0)
    except (urllib.error.URLError, OSError) as err:
        print(
            f"DEPENDENCY AUDIT FAILED: PyPI's vulnerability data cannot be reached ({err}).\n"
            "Nothing was audited; this is not a pass. Check the network or proxy.",
            file=sys.stderr,
        )
        return 2
    deps = dependency_tree()
    with ThreadPoolExecutor(8) as pool:
        findings = list(pool.map(lambda kv: audit(*kv), sorted(deps.items())))
    vulnerable = [f for f in findings if f.vulns]
    unaudited = [f for f in findings if not f.audited]
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=1))
    print(
        f"dependency audit: {len(findings)} packages, {len(findings) - len(unaudited)} audited, "
        f"{len(vulnerable)} vulnerable, {len(unaudited)} not audited"
    )
    for f in vulnerable:
        print(f"  VULNERABLE {f.name} {f.version}: {', '.join(f.vulns)}", file=sys.stderr)
    for f in unaudited:
        print(f"  NOT AUDITED {f.name} {f.version}: {f.note}", file=sys.stderr)
    failing = [f for f in unaudited if canonicalize_name(f.name) not in accepted]
    if vulnerable or failing:
        print(
            "DEPENDENCY AUDIT FAILED: upgrade the vulnerable packages; a package not audited "
            "is not known to be safe.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
