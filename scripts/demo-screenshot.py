"""Take docs/demo-console.png: the console of a running demo, in headless Chromium.

Start a demo first (``gatehouse demo --port 8000``), then run this script; it signs
in with the demo's manager login and captures the dashboard.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from gatehouse.demo.club import MANAGER_EMAIL, MANAGER_PASSWORD

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main(url: str = "http://127.0.0.1:8000", out: str = "docs/demo-console.png") -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/lib/chromium/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        page.goto(url + "/console/login")
        page.fill("#email", MANAGER_EMAIL)
        page.fill("#password", MANAGER_PASSWORD)
        page.click("#sign-in")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        page.screenshot(path=out)
        browser.close()
    print(f"wrote {out} ({Path(out).stat().st_size} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:])
