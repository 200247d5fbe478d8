"""
The benchmarks of virtu-sync-plugin: ``make bench`` (or ``python -m benchmarks.run``).

Each section runs in a fresh process (its own Django setup on a scratch SQLite database,
its own memory), one after the other; the backends run as processes of their own. The
results are printed as a table and written as JSON (``benchmarks/results/latest.json``,
with the table beside it as ``latest.rst``). See ``docs/performance.rst``.

    python -m benchmarks.run [--quick] [--section NAME ...] [--output PATH]

``--quick`` leaves out the 50k-block course and shortens the backfill (for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "latest.json"
SECTION_ORDER = (
    "outline", "diff", "snapshot", "end_to_end", "throughput", "backfill", "receiver", "admin_pages", "retention"
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="no 50k-block course, a shorter backfill")
    parser.add_argument("--section", action="append", choices=SECTION_ORDER, help="run only these (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON file (default: %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one section in this process
    arguments = parser.parse_args(argv)
    if arguments.child:
        return _child(arguments.child, arguments.quick, arguments.output)

    started = time.perf_counter()
    sections = arguments.section or list(SECTION_ORDER)
    rows: list[dict[str, Any]] = []
    timings = {}
    for name in sections:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        section_started = time.perf_counter()
        rows.extend(_run_child(name, arguments.quick))
        timings[name] = time.perf_counter() - section_started
        print(f"[bench] {name}: {timings[name]:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    document = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": _machine(),
        "quick": arguments.quick,
        "seconds": elapsed,
        "section_seconds": timings,
        "rows": rows,
    }
    table = render(rows)
    print(table)
    print(f"\nmake bench: {elapsed:.0f} s; {_summary(rows)}")
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(document, indent=1, default=_json_default) + "\n")
    arguments.output.with_suffix(".rst").write_text(render_rst(rows) + "\n")
    shown = arguments.output.relative_to(REPO_ROOT) if arguments.output.is_relative_to(REPO_ROOT) else arguments.output
    print(f"results: {shown} (and {shown.with_suffix('.rst').name} beside it)")
    return 0


def _run_child(name: str, quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix=f"virtu-bench-{name}-") as work_dir:
        output = Path(work_dir) / "rows.json"
        command = [sys.executable, "-m", "benchmarks.run", "--child", name, "--output", str(output)]
        if quick:
            command.append("--quick")
        environment = {**os.environ, "VIRTU_BENCH_DIR": work_dir, "PYTHONPATH": str(REPO_ROOT)}
        subprocess.run(command, cwd=REPO_ROOT, env=environment, check=True)
        return json.loads(output.read_text())


def _child(name: str, quick: bool, output: Path) -> int:
    from . import sections

    work_dir = Path(os.environ.get("VIRTU_BENCH_DIR") or tempfile.mkdtemp(prefix="virtu-bench-"))
    rows = sections.SECTIONS[name](work_dir, quick)
    sections.dump(rows, output)
    return 0


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(value, 2) for value in load],
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return str(value)


# The table ----------------------------------------------------------------------------------


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "s":
        if value < 0.001:
            return f"{value * 1e6:,.0f} µs"
        if value < 1:
            return f"{value * 1e3:,.1f} ms"
        return f"{value:,.2f} s"
    if unit in ("op/s", "courses/min"):
        return f"{value:,.0f} {unit}"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:,.0f} {unit}"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    if math.isinf(value):
        return "∞"
    return f"{value:,.0f}×" if value >= 10 else f"{value:,.1f}×"


def _notes(row: dict[str, Any]) -> str:
    details = row.get("details", {})
    section = row["section"]
    if section == "build_outline":
        return (
            f"{details['entities']:,} entities, {details['sections']} sections, "
            f"{details['blocks_per_second']:,.0f} blocks/s"
        )
    if section == "diff":
        return (
            f"{details['operations']} op; {details['entities_per_second']:,.0f} entities/s; "
            f"DeepDiff {_value(details['deepdiff_median'], 's')} ({_ratio(details['deepdiff_ratio'])})"
        )
    if section == "snapshot":
        if "bytes" in details:
            return f"{details['bytes']:,} B for {details['entities']:,} entities"
        parts = {key: _value(value, "s") for key, value in details.items()}
        return ", ".join(f"{key} {value}" for key, value in parts.items())
    if section == "end to end":
        if "requests_baseline" not in details:
            return f"{details['operations']:,} op, {details['requests']} req, {details['bytes']:,} B"
        bytes_ratio = _ratio(details["bytes_ratio"]) if details["bytes"] else "n/a"
        return (
            f"{details['operations']} op, {details['requests']} req, {details['bytes']:,} B "
            f"({bytes_ratio} fewer); minus read {_value(details['without_read_median'], 's')}"
        )
    if section == "throughput":
        return (
            f"{details['operations']:,} op; whole sync {details['whole_sync_seconds']:.1f} s "
            f"({details['whole_sync_operations_per_second']:,.0f} op/s); "
            f"HTTP wait {details['waiting_for_http_seconds']:.1f} s"
        )
    if section == "backfill":
        if "seconds" in details:
            return (
                f"{details['operations']:,} op in {details['seconds']:.0f} s "
                f"({details['operations_per_second']:,.0f} op/s)"
            )
        return f"retained {details['retained_growth_mb']:.1f} MB"
    if section == "receiver":
        return (
            f"worst {_value(details['with_receiver_worst'], 's')}, p99 {_value(details['with_receiver_p99'], 's')}, "
            f"cold {_value(details['first_publish_cold_caches'], 's')}"
        )
    if section == "admin pages":
        big, small = details["big_tables"], details["small_tables"]
        return (
            f"{details['slower']:.2f}× the time with {small['operations']:,} operations, {small['runs']:,} runs, "
            f"{small['courses']:,} courses (here {big['operations']:,}, {big['runs']:,}, {big['courses']:,})"
        )
    if section == "retention" and "after" in details:
        return "after " + ", ".join(f"{number} publishes: {rows:,}" for number, rows in details["after"].items())
    return ""


def render(rows: list[dict[str, Any]]) -> str:
    """The results as a reStructuredText grid table."""
    header = ("Measurement", "min", "median", "baseline", "× better", "target", "notes")
    lines = []
    for result in rows:
        unit = result.get("unit", "s")
        target = result.get("target") or ""
        if target:
            target = f"{'met' if result.get('met') else 'MISSED'}: {target}"
        lines.append(
            (
                f"{result['section']}: {result['name']}",
                _value(result.get("min"), unit),
                _value(result.get("median"), unit),
                _value(result.get("baseline"), result.get("baseline_unit", "s")),
                _ratio(result.get("ratio")),
                target,
                _notes(result),
            )
        )
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines)]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(cells):
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)) + " |"

    return "\n".join([rule, line(header), rule.replace("-", "="), *(x for cells in lines for x in (line(cells), rule))])


def render_rst(rows: list[dict[str, Any]]) -> str:
    """The results as reStructuredText list tables, one per section (lines short enough for doc8)."""
    titles = {
        "build_outline": "build_outline (modulestore read + outline)",
        "diff": "Diff (api.diff_outlines) against a flat dict compared key by key, and DeepDiff",
        "snapshot": "Snapshot",
        "end to end": "End to end: a re-publish synced through HTTP, against the full dump",
        "throughput": "Delivery throughput: first sync of a 50k-block course",
        "backfill": "Backfill",
        "receiver": "Receiver",
        "admin pages": "Admin list pages: 1,000,000 logged operations and 100,000 runs against 1,000 and 100",
        "retention": "Retention: row counts over 1,000 publishes of one course",
    }
    out = []
    for section in dict.fromkeys(result["section"] for result in rows):
        out += [titles.get(section, section), "-" * len(titles.get(section, section)), ""]
        out += [".. list-table::", "   :header-rows: 1", "", "   * - Measurement", "     - min", "     - median",
                "     - baseline", "     - × better", "     - target", "     - notes"]  # fmt: skip
        for result in rows:
            if result["section"] != section:
                continue
            unit = result.get("unit", "s")
            target = result.get("target") or ""
            if target:
                target = f"**{'met' if result.get('met') else 'missed'}**: {target}"
            cells = (
                result["name"],
                _value(result.get("min"), unit),
                _value(result.get("median"), unit),
                _value(result.get("baseline"), result.get("baseline_unit", "s")),
                _ratio(result.get("ratio")),
                target,
                _notes(result),
            )
            out.append(f"   * - {cells[0]}")
            out += [f"     - {cell}" if cell else "     -" for cell in cells[1:]]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _summary(rows: list[dict[str, Any]]) -> str:
    targets = [result for result in rows if result.get("target")]
    met = sum(1 for result in targets if result.get("met"))
    return f"targets met: {met} of {len(targets)}"


if __name__ == "__main__":
    sys.exit(main())
