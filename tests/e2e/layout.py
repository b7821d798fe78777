"""What a person at any screen size must never meet: a control cut off, a page that scrolls
sideways, or a column header broken inside its word. Run inside the page, so it sees what the
browser laid out."""

from __future__ import annotations

from playwright.sync_api import Page

WIDTHS = (320, 390, 768, 1024, 1280, 1440)
HEIGHT = 800

# Returns a list of problems, each "selector-ish: what is wrong".
_CHECK = r"""
() => {
  const problems = [];
  const doc = document.documentElement;
  const vw = doc.clientWidth;
  if (doc.scrollWidth > vw + 1) {
    problems.push(`page scrolls sideways: ${doc.scrollWidth}px wide in ${vw}px`);
  }
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.name || "")
      .trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${text}"`;
  };
  const interactive = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, " +
    "[tabindex]:not([tabindex='-1'])"
  );
  for (const el of interactive) {
    // Off-screen on purpose until focused (skip links), or not rendered at all.
    const skipped = ".skip-link, .skiplink, .visually-hidden, [hidden], dialog:not([open])";
    if (el.closest(skipped)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    let inScroller = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      const ox = s.overflowX;
      if (ox === "visible") continue;
      const ar = a.getBoundingClientRect();
      if (ox === "auto" || ox === "scroll") {
        // Reachable by scrolling the container, which itself must stay on the page.
        inScroller = true;
        if (ar.left < -1 || ar.right > vw + 1) {
          problems.push(`${describe(el)}: its scroll container is outside the viewport`);
        }
        break;
      }
      // hidden / clip: whatever sticks out cannot be reached.
      if (r.left < ar.left - 1 || r.right > ar.right + 1) {
        problems.push(`${describe(el)}: clipped by ${a.tagName.toLowerCase()}.${a.className}`);
        break;
      }
    }
    if (!inScroller && (r.left < -1 || r.right > vw + 1)) {
      const where = `${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`;
      problems.push(`${describe(el)}: outside the viewport (${where})`);
    }
  }
  // A one-word column header squeezed until it breaks letter by letter.
  for (const th of document.querySelectorAll("th")) {
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const word = node.textContent.trim();
      if (!word || /\s/.test(word)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1) problems.push(`th "${word}": the header breaks inside its word`);
    }
  }
  return problems;
}
"""

# A list that must fit without scrolling sideways (the admin's changelists and the dashboard's
# latest events, from 1280 px on).
_LIST_FITS = """
() => {
  const lists = document.querySelectorAll("#changelist .results, .dashboard-events .table-scroll");
  return [...lists]
    .filter((list) => list.scrollWidth > list.clientWidth + 1)
    .map((list) => `the list scrolls sideways: ${list.scrollWidth}px in ${list.clientWidth}px`);
}
"""


def layout_problems(page: Page, *, list_must_fit: bool = False) -> list[str]:
    problems = page.evaluate(_CHECK)
    if list_must_fit:
        problems += page.evaluate(_LIST_FITS)
    return problems
