#!/usr/bin/env python3
"""Opens trajprobe's report.html in a real browser and checks it as a reader meets it.

Debian's chromium (apt-get install chromium), headless, driven by Playwright through
executable_path: no browser is downloaded. For every report and viewport width it checks

  - the page never scrolls sideways (documentElement.scrollWidth <= innerWidth),
  - every image is decoded (naturalWidth > 0), has alt text, keeps its aspect and fits the page,
  - no console error, no uncaught exception, no request leaves the file (one self-contained page),
  - every table is reachable: it fits, or sits in a focusable scroll container inside the page
    whose last column scrolls into view while the first column stays visible (sticky),
  - every folded list (<details>) opens without widening the page,

then, with print media at the width of A4 less its margins, that no table is wider than the page
and no figure taller than one, and saves full-page screenshots next to the report
(screenshots/<report>-<width>.png) for a human to look at.

    .venv/bin/python tools/report_browser_check.py Reports/demo/report.html
    .venv/bin/python tools/report_browser_check.py a/report.html b/report.html --widths 1400,390 --json

Exit status: 0 every check passed; 1 a check failed (each failure printed); 2 bad usage or no browser.
"""
import argparse
import json
import os
import shutil
import sys
from pathlib import Path

# A4 less the print stylesheet's margins (12 mm left and right, 14 mm top and bottom) in CSS px.
A4_WIDTH_PX = round((210 - 24) / 25.4 * 96)
A4_HEIGHT_PX = round((297 - 28) / 25.4 * 96)

SCREEN_CHECKS = r"""
() => {
  const failures = [];
  const de = document.documentElement, W = innerWidth;
  const short = (s) => (s || "").replace(/\s+/g, " ").slice(0, 70);
  if (de.scrollWidth > W) {
    // Name the widest offenders outside scroll containers, so a failure says what to fix.
    const wide = [...document.body.querySelectorAll("*")]
      .filter((e) => !e.closest(".table-scroll") && e.getBoundingClientRect().right > W + 0.5)
      .slice(0, 3).map((e) => `<${e.tagName.toLowerCase()}> "${short(e.textContent)}"`);
    failures.push(`the page scrolls sideways: scrollWidth ${de.scrollWidth} > innerWidth ${W} (${wide.join("; ")})`);
  }
  const images = [...document.images];
  images.forEach((im, i) => {
    const name = `image ${i + 1} (${short(im.alt) || "no alt"})`;
    if (!im.complete || im.naturalWidth === 0) failures.push(`${name} is not decoded`);
    if (!im.alt || !im.alt.trim()) failures.push(`${name} has no alt text`);
    const r = im.getBoundingClientRect();
    if (r.right > W + 0.5 || r.left < -0.5) failures.push(`${name} runs off the page (${r.left.toFixed(0)}..${r.right.toFixed(0)} of ${W})`);
    if (im.naturalWidth > 0 && im.clientWidth > 0) {
      // The content box (a border would skew a small image's ratio by a pixel or two).
      const shown = im.clientHeight / im.clientWidth, natural = im.naturalHeight / im.naturalWidth;
      if (Math.abs(shown - natural) / natural > 0.01) failures.push(`${name} is distorted: aspect ${shown.toFixed(3)} shown, ${natural.toFixed(3)} natural`);
    }
    if (im.src && !im.src.startsWith("data:")) failures.push(`${name} is not embedded (${short(im.src)})`);
  });
  const tables = [...document.querySelectorAll("table")];
  tables.forEach((t, i) => {
    const name = `table ${i + 1} (${short(t.rows[0] && t.rows[0].textContent)})`;
    if (t.closest("details:not([open])")) { failures.push(`${name} is hidden in a folded list`); return; }
    const wrap = t.closest(".table-scroll");
    const tr = t.getBoundingClientRect();
    if (!wrap) {
      if (tr.right > W + 0.5) failures.push(`${name} is wider than the page and not in a scroll container`);
      return;
    }
    const wr = wrap.getBoundingClientRect();
    if (wr.left < -0.5 || wr.right > W + 0.5) failures.push(`${name}: its scroll container runs off the page (${wr.left.toFixed(0)}..${wr.right.toFixed(0)} of ${W})`);
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      if (wrap.tabIndex < 0) failures.push(`${name} scrolls but cannot be focused from the keyboard`);
      const style = getComputedStyle(wrap);
      if (!["auto", "scroll"].includes(style.overflowX)) failures.push(`${name} is cut off (overflow-x ${style.overflowX})`);
      wrap.scrollLeft = wrap.scrollWidth;
      const head = t.rows[0], last = head.cells[head.cells.length - 1], first = head.cells[0];
      const lr = last.getBoundingClientRect(), fr = first.getBoundingClientRect(), wr2 = wrap.getBoundingClientRect();
      if (lr.right > wr2.right + 1 || lr.left < wr2.left - 1) failures.push(`${name}: the last column does not scroll into view`);
      if (Math.abs(fr.left - wr2.left) > 2) failures.push(`${name}: the first column scrolls away (it should stay, sticky)`);
      if (lr.left < fr.right - 1) failures.push(`${name}: the sticky first column covers the last column`);
      wrap.scrollLeft = 0;
    }
  });
  const folds = [...document.querySelectorAll("details")];
  folds.forEach((d, i) => {
    d.open = true;
    if (de.scrollWidth > W) failures.push(`folded list ${i + 1} (${short(d.querySelector("summary") && d.querySelector("summary").textContent)}) widens the page when opened`);
    d.open = false;
  });
  return { failures, images: images.length, tables: tables.length, folds: folds.length,
           scrollWidth: de.scrollWidth, innerWidth: W, height: de.scrollHeight };
}
"""

PRINT_CHECKS = r"""
([pageW, pageH]) => {
  const failures = [];
  const short = (s) => (s || "").replace(/\s+/g, " ").slice(0, 70);
  for (const d of document.querySelectorAll("details")) d.open = true;
  const bodyW = document.body.getBoundingClientRect().width;
  [...document.querySelectorAll("table")].forEach((t, i) => {
    const w = t.getBoundingClientRect().width;
    if (w > bodyW + 1) failures.push(`print: table ${i + 1} (${short(t.rows[0] && t.rows[0].textContent)}) is ${w.toFixed(0)} px wide on a ${bodyW.toFixed(0)} px A4 page`);
  });
  [...document.querySelectorAll("figure")].forEach((f, i) => {
    const r = f.querySelector("img").getBoundingClientRect();
    if (r.height > pageH + 0.5) failures.push(`print: figure ${i + 1} is ${r.height.toFixed(0)} px tall, more than an A4 page (${pageH} px)`);
    if (r.width > bodyW + 0.5) failures.push(`print: figure ${i + 1} is wider than the A4 page`);
    if (getComputedStyle(f).breakInside !== "avoid") failures.push(`print: figure ${i + 1} may break across pages`);
  });
  [...document.querySelectorAll("tr")].slice(0, 1).forEach((r) => {
    if (getComputedStyle(r).breakInside !== "avoid") failures.push("print: table rows may break across pages");
  });
  return { failures };
}
"""


def find_chromium(explicit):
    for candidate in [explicit, os.environ.get("TRAJPROBE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]:
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def check(browser, report: Path, width: int, shots: Path, scale: float, print_check: bool, pdf: bool):
    failures, console = [], []
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=scale)
    outside = []

    def route(r):
        url = r.request.url
        if url.startswith("file:") or url.startswith("data:"):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: console.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"uncaught exception: {e}"))
    page.goto(report.resolve().as_uri(), wait_until="load")
    page.wait_for_function("[...document.images].every((i) => i.complete)")
    result = page.evaluate(SCREEN_CHECKS)
    failures += result["failures"]
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{report.stem}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    if print_check:
        page.set_viewport_size({"width": A4_WIDTH_PX, "height": A4_HEIGHT_PX})
        page.emulate_media(media="print")
        failures += page.evaluate(PRINT_CHECKS, [A4_WIDTH_PX, A4_HEIGHT_PX])["failures"]
        if pdf:
            page.pdf(path=str(shots / f"{report.stem}-print.pdf"), format="A4", prefer_css_page_size=True)
    failures += console
    failures += [f"request outside the file: {u}" for u in outside]
    context.close()
    return {"report": str(report), "width": width, "screenshot": str(shot), "failures": failures,
            "images": result["images"], "tables": result["tables"], "folds": result["folds"], "page_height": result["height"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("reports", nargs="+", type=Path, help="report.html files")
    p.add_argument("--widths", default="1400,390", type=lambda s: [int(x) for x in s.split(",")], help="viewport widths in CSS px")
    p.add_argument("--chromium", help="browser executable (default: $TRAJPROBE_CHROMIUM, then chromium on PATH)")
    p.add_argument("--screenshots", default="screenshots", help="folder for the screenshots, relative to each report (default: screenshots)")
    p.add_argument("--scale", type=float, default=1.0, help="device pixel ratio of the screenshots (0.5 gives small files)")
    p.add_argument("--pdf", action="store_true", help="also print each report to <report>-print.pdf (A4) beside the screenshots")
    p.add_argument("--json", action="store_true", help="print one JSON object per (report, width)")
    args = p.parse_args()
    chromium = find_chromium(args.chromium)
    if not chromium:
        print("error: no chromium found: apt-get install chromium, or pass --chromium", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("error: Playwright is missing: tools/make_venv.sh --browser", file=sys.stderr)
        return 2
    for r in args.reports:
        if not r.is_file():
            print(f"error: {r}: no such file", file=sys.stderr)
            return 2
    failed = False
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for report in args.reports:
            for width in args.widths:
                res = check(browser, report, width, report.parent / args.screenshots, args.scale,
                            print_check=width == max(args.widths), pdf=args.pdf)
                failed = failed or bool(res["failures"])
                if args.json:
                    print(json.dumps(res, sort_keys=True))
                else:
                    status = "ok" if not res["failures"] else "FAILED"
                    print(f"{report} at {width} px: {status} ({res['images']} images, {res['tables']} tables, "
                          f"{res['folds']} folded lists, page {res['page_height']} px tall); {res['screenshot']}")
                    for f in res["failures"]:
                        print(f"  - {f}")
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
