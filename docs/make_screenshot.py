"""Make docs/report.png, the README's screenshot of the example report.

Run from the repository root (uses Debian's chromium through Playwright; never downloads a
browser):

    python docs/make_screenshot.py                      # writes docs/report.png
    python docs/make_screenshot.py --height 2400 --out /tmp/shot.png --html /tmp/example.html

It copies predictions.db.example to a temporary folder (the committed file is never
touched), brings it to the current schema (`predtrack db upgrade`), runs `predtrack report
--db COPY -o example.html`, opens the file in headless Chromium at 1200 px wide and saves the
top `--height` pixels of the page. The browser is Debian's `chromium` (or
$PREDTRACK_TEST_CHROMIUM), started offline with a fresh profile.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    return os.environ.get("PREDTRACK_TEST_CHROMIUM") or "/usr/bin/chromium"


def build_report(folder: Path, html: Path) -> None:
    db = folder / "example.db"
    shutil.copyfile(ROOT / "predictions.db.example", db)
    exe = shutil.which("predtrack") or str(Path(sys.executable).parent / "predtrack")
    command = [exe] if Path(exe).exists() else [sys.executable, "-m", "predtrack"]
    # The copy is brought to this predtrack's schema first (a no-op when it already is).
    subprocess.run(
        [*command, "db", "upgrade", "--db", str(db)], check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(
        [*command, "report", "--db", str(db), "-o", str(html)],
        check=True,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        # The copy's study root is the repository, where its result files are (verify
        # re-hashes them), as for the committed file.
        env={**os.environ, "TZ": os.environ.get("TZ", "UTC"), "PREDTRACK_ROOT": str(ROOT)},
    )


def screenshot(html: Path, out: Path, *, width: int, height: int, profile: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": 900},
            device_scale_factor=1,
        )
        try:
            page = context.new_page()
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            full = page.evaluate("document.documentElement.scrollHeight")
            clip_height = min(height, int(full)) if height else int(full)
            page.screenshot(
                path=str(out),
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": clip_height},
            )
        finally:
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=2250, help="0: the whole page")
    parser.add_argument("--html", type=Path, help="Also keep the generated report here.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        html = options.html.resolve() if options.html else folder / "example.html"
        build_report(folder, html)
        screenshot(
            html,
            options.out,
            width=options.width,
            height=options.height,
            profile=folder / "profile",
        )
    print(options.out)


if __name__ == "__main__":
    main()
