"""Screenshots of the HTML report for the docs: renders the bundled example's report and photographs it.

    python scripts/screenshots.py            # writes docs/images/html-report-*.png

Uses the same setup as tests/test_html_report.py: Debian's headless chromium (apt-get install -y chromium) driven
by Playwright's Python package (the `test` extra), never Playwright's own browser downloads. The scan uses the
tests' fixed clock so the pictures only change when the report does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLOCK = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)  # tests/conftest.py FIXTURE_CLOCK
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
WIDTH = 1100


def _box(page: Any, selector: str) -> dict[str, float]:
    """Where an element is on the page (not in the viewport, which scrolls when Playwright clicks)."""
    box: dict[str, float] | None = page.evaluate(
        """selector => {
          const node = document.querySelector(selector);
          if (!node) { return null; }
          const r = node.getBoundingClientRect();
          return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
        }""", selector)
    if box is None:
        raise SystemExit(f"not on the page: {selector}")
    return box


def _shoot(page: Any, path: Path, top: float, bottom: float) -> None:
    page.screenshot(path=str(path), clip={"x": 0, "y": top, "width": WIDTH, "height": bottom - top},
                    full_page=True)
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "images", help="where the PNGs go")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the browser binary")
    args = parser.parse_args(argv)
    if not args.chromium.exists():
        print(f"no browser at {args.chromium}: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    import lambdasec
    from lambdasec.reporters.html import render
    from lambdasec.rules.registry import all_rules

    report = lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=CLOCK)
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(render(report, all_rules()), encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=str(args.chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
            page.goto(page_file.as_uri())
            page.wait_for_selector("tr.finding")
            # The summary, the severity tiles and the categories.
            chart = _box(page, "svg.chart")
            _shoot(page, args.output / "html-report-overview.png", 0, chart["y"] + chart["height"] + 16)
            # The first function's attack path.
            fn = _box(page, "ol.paths li.fn")
            _shoot(page, args.output / "html-report-attack-path.png", fn["y"] - 8, fn["y"] + fn["height"] + 8)
            # The findings table, filtered to the critical ones, with the last of them open.
            page.select_option("#filter-severity", "critical")
            page.locator("#findings-body tr.finding:not([hidden]) button.toggle").last.click()
            table = _box(page, "#findings")
            _shoot(page, args.output / "html-report-findings.png", table["y"] - 8,
                   table["y"] + min(table["height"], 900) + 8)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
