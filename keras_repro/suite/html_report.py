"""``repro report --html PATH``: one self-contained web page of the latest verdicts.

The page is read from the same run folders as ``repro report`` (the latest completed run of each
reproduction, every table checked against its schema) and holds, per section of the catalog (C1 …
C6), one card per claim in natural order (C1.3 before C1.10): the statement, the verdict (a colour
and the word), its reason, the rule with the measured values it reads, the note, the run's
provenance (run id, date, commit, backend, device, profile, seed, package versions) and the run's
plots. A plot whose file name starts with a claim ID (``C4.3_momentum.png``) is shown with that
claim; any other plot of the run is shown with each of the run's claims.

Everything is inside the one file: plots are embedded as ``data:`` URIs, the style and the verdict
filter (checkboxes; ``#filter=reproduced,inconclusive`` in the address selects on load) are inline;
no font, script or style sheet is fetched, so the page works offline and can be mailed or committed.
All text from the run folders is escaped.

This module imports neither Keras nor a backend: it reads files only.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from keras_repro.suite import results
from keras_repro.suite.claims import VERDICTS

# The section headings of the catalog (CLAIMS.md), by the number after "C" in a claim ID.
SECTIONS = {
    1: "A neuron and a network",
    2: "Building a network",
    3: "Tasks",
    4: "Optimisation",
    5: "Convolutional networks",
    6: "Regularisation and normalisation",
}
_SECTION = re.compile(r"^C(\d+)\.")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def natural_key(text: str) -> tuple:
    """Sort key comparing runs of digits as numbers: C1.3 < C1.10, C3.1 < C3.1b < C3.2."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.findall(r"\d+|\D+", text))


def css_class(verdict: str) -> str:
    """``not reproduced`` → ``not-reproduced`` (the verdict's class and filter value)."""
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


@dataclass
class Plot:
    name: str
    data: bytes
    width: int = 0
    height: int = 0

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.data).decode("ascii")


@dataclass
class ClaimEntry:
    claim_id: str
    reproduction: str
    verdict: str
    reason: str
    measured: str
    rule: str
    rule_outcome: str
    note: str
    statement: str
    run: results.Run
    plots: list[Plot] = field(default_factory=list)


@dataclass
class Page:
    claims: list[ClaimEntry]
    problems: list[str]
    results_dir: str
    profile: str | None


def _png(path: Path) -> Plot | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(_PNG_MAGIC) or len(data) < 24:
        return None  # not a PNG: never embedded under an image type it is not
    width, height = struct.unpack(">II", data[16:24])
    return Plot(path.name, data, width, height)


def _plots(run: results.Run) -> list[Plot]:
    names = {a for a in run.info.get("artifacts", []) if str(a).lower().endswith(".png")}
    names |= {p.name for p in run.path.glob("*.png") if not p.name.startswith(".")}
    plots = [_png(run.path / name) for name in sorted(names, key=natural_key)]
    return [p for p in plots if p is not None]


def _belongs(plot: Plot, claim_id: str, claim_ids: Sequence[str]) -> bool:
    """A plot named after a claim (``C4.3_momentum.png``) is that claim's; others are the whole run's."""
    def named_for(cid: str) -> bool:
        stem = plot.name[:-4]
        return stem == cid or stem.startswith((cid + "_", cid + "-", cid + " "))

    owners = [cid for cid in claim_ids if named_for(cid)]
    return claim_id in owners if owners else True


def collect(results_dir: Path, names: Sequence[str] | None = None, profile: str | None = None,
            statements: dict[str, str] | None = None) -> Page:
    """The claims of the latest completed run of each reproduction in ``names`` (default: every folder
    under ``results_dir``), optionally of one profile, sorted by claim ID; and one line per damaged
    run folder or table met (as ``repro report`` selects them)."""
    results_dir = Path(results_dir)
    if names is None:
        names = sorted(p.name for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if results_dir.is_dir() else []
    statements = statements or {}
    claims, problems = [], []
    for name in names:
        runs, bad = results.list_runs(results_dir, name)
        problems += bad
        done = [r for r in runs if r.status == results.COMPLETED
                and (profile is None or r.info.get("profile") == profile)]
        if not done:
            continue
        run = done[-1]
        try:
            results.check_tables(run)
            table = run.table(results.CLAIMS_TABLE).astype(object).fillna("")
        except results.ResultsError as exc:
            problems.append(str(exc))
            continue
        plots = _plots(run)
        ids = list(table["claim_id"])
        for row in table.to_dict("records"):
            cid = str(row["claim_id"])
            claims.append(ClaimEntry(
                claim_id=cid, reproduction=name, verdict=str(row["verdict"]), reason=str(row.get("reason", "")),
                measured=str(row["measured"]), rule=str(row["rule"]), rule_outcome=str(row["rule_outcome"]),
                note=str(row["note"]), statement=statements.get(cid, ""), run=run,
                plots=[p for p in plots if _belongs(p, cid, ids)]))
    claims.sort(key=lambda c: (natural_key(c.claim_id), c.reproduction))
    return Page(claims, problems, str(results_dir), profile)


# -- rendering --------------------------------------------------------------------------------------

def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def section_of(claim_id: str) -> tuple[int, str]:
    match = _SECTION.match(claim_id)
    if not match:
        return (10 ** 6, "Other claims")
    number = int(match[1])
    return (number, f"{number}. {SECTIONS.get(number, 'Section ' + str(number))}")


def parse_measured(text: str) -> list[tuple[str, str]]:
    """``a=1; b=x=2`` → ``[("a", "1"), ("b", "x=2")]`` (claims.csv's measured column)."""
    pairs = []
    for item in str(text).split("; "):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        pairs.append((key.strip(), value) if sep else ("", item))
    return pairs


def _rule_keys(rule: str, keys: Sequence[str]) -> set[str]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rule))
    return {k for k in keys if k in words}


def _when(info: dict[str, Any]) -> str:
    text = str(info.get("finished") or info.get("started") or "")
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


def _provenance(run: results.Run) -> str:
    info = run.info
    commit = str(info.get("git_commit") or "")
    dirty = " (uncommitted changes)" if info.get("git_dirty") else ""
    seconds = info.get("seconds")
    facts = [("run", f"{run.name}/{run.run_id}"), ("date", _when(info)),
             ("commit", (commit[:10] or "unknown") + dirty), ("backend", info.get("backend", "")),
             ("device", info.get("device", "")), ("profile", info.get("profile", "")), ("seed", info.get("seed", "")),
             ("time", f"{seconds:g} s" if isinstance(seconds, (int, float)) else "")]
    line = " ".join(f'<span class="fact"><b>{esc(k)}</b> {esc(v)}</span>' for k, v in facts if v != "")
    packages = info.get("packages") or {}
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v if v is not None else 'not installed')}</td></tr>"
                   for k, v in packages.items())
    extra = [("full commit", commit + dirty), ("precision", info.get("precision", "")),
             ("command", " ".join(map(str, info.get("command") or []))),
             ("overrides", ", ".join(f"{k}={v}" for k, v in (info.get("overrides") or {}).items())),
             ("python", (info.get("machine") or {}).get("python", "")),
             ("platform", (info.get("machine") or {}).get("platform", ""))]
    rows += "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in extra if v)
    title = esc(info.get("title", ""))
    return (f'<details class="prov"><summary>{line}</summary>'
            + (f'<p class="rtitle">{title}</p>' if title else "")
            + f'<table class="kv">{rows}</table></details>')


def _measured_table(entry: ClaimEntry) -> str:
    pairs = parse_measured(entry.measured)
    if not pairs:
        return '<p class="muted">No measured values.</p>'
    in_rule = _rule_keys(entry.rule, [k for k, _ in pairs])
    ordered = [p for p in pairs if p[0] in in_rule] + [p for p in pairs if p[0] not in in_rule]
    rows = "".join(f'<tr class="{"in-rule" if k in in_rule else "context"}"><th>{esc(k)}</th><td>{esc(v)}</td></tr>'
                   for k, v in ordered)
    legend = "Measured" + (' <span class="muted">(bold: read by the rule)</span>'
                           if in_rule and len(in_rule) < len(pairs) else "")
    return f'<div class="label">{legend}</div><table class="measured">{rows}</table>'


def _card(entry: ClaimEntry) -> str:
    verdict = css_class(entry.verdict)
    statement = (f'<p class="statement">{esc(entry.statement)}</p>' if entry.statement
                 else '<p class="statement muted">(statement not available: the reproduction is not registered here)</p>')
    reason = f'<span class="reason">{esc(entry.reason)}</span>' if entry.reason else ""
    outcome = css_class(entry.rule_outcome) if entry.rule_outcome else "not-evaluated"
    rule = (f'<div class="rule"><span class="label">Rule</span> <code>{esc(entry.rule)}</code> '
            f'<span class="outcome o-{outcome}">rule: {esc(entry.rule_outcome or "not evaluated")}</span></div>')
    note = f'<p class="note">{esc(entry.note)}</p>' if entry.note.strip() else ""
    plots = "".join(
        f'<figure><img src="{p.data_uri()}" alt="{esc(p.name)}" loading="lazy"'
        + (f' width="{p.width}" height="{p.height}"' if p.width and p.height else "")
        + f'><figcaption>{esc(p.name)}</figcaption></figure>' for p in entry.plots)
    return (f'<article class="card v-{verdict}" id="{esc(entry.claim_id)}" data-verdict="{verdict}">'
            f'<header><a class="cid" href="#{esc(entry.claim_id)}">{esc(entry.claim_id)}</a>'
            f'<span class="badge v-{verdict}">{esc(entry.verdict)}</span>{reason}'
            f'<span class="repro">{esc(entry.reproduction)}</span></header>'
            f'{statement}{rule}{_measured_table(entry)}{note}'
            + (f'<div class="plots">{plots}</div>' if plots else "")
            + _provenance(entry.run) + "</article>")


def render(page: Page, generated: _dt.datetime | None = None) -> str:
    """The whole page as one string."""
    generated = generated or _dt.datetime.now(_dt.timezone.utc)
    counts = {v: sum(c.verdict == v for c in page.claims) for v in VERDICTS}
    others = sorted({c.verdict for c in page.claims} - set(VERDICTS))
    counts.update({v: sum(c.verdict == v for c in page.claims) for v in others})
    reproductions = len({c.reproduction for c in page.claims})
    sections: dict[tuple[int, str], list[ClaimEntry]] = {}
    for entry in page.claims:
        sections.setdefault(section_of(entry.claim_id), []).append(entry)
    ordered = sorted(sections.items())

    filters = "".join(
        f'<label class="filter v-{css_class(v)}"><input type="checkbox" value="{css_class(v)}" checked>'
        f'<span class="badge v-{css_class(v)}">{esc(v)}</span> <b class="count">{n}</b></label>'
        for v, n in counts.items())
    toc = "".join(
        f'<li data-section="{number}"><a class="stitle" href="#s{number}">{esc(title)}</a> '
        + " ".join(f'<a class="chip v-{css_class(c.verdict)}" data-verdict="{css_class(c.verdict)}" '
                   f'href="#{esc(c.claim_id)}" title="{esc(c.verdict)}">{esc(c.claim_id)}</a>' for c in entries)
        + "</li>" for (number, title), entries in ordered)
    body = "".join(
        f'<section id="s{number}" data-section="{number}"><h2>{esc(title)}</h2>'
        + "".join(_card(e) for e in entries) + "</section>" for (number, title), entries in ordered)
    problems = ""
    if page.problems:
        items = "".join(f"<li>{esc(p)}</li>" for p in page.problems)
        problems = (f'<div class="problems"><b>Incomplete:</b> {len(page.problems)} damaged run folder(s) or '
                    f"table(s) were left out:<ul>{items}</ul></div>")
    scope = f"latest completed run of each reproduction{' (profile ' + page.profile + ')' if page.profile else ''}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="keras-repro: repro report --html">
<title>keras-repro: verdicts of the latest runs</title>
<style>{_CSS}</style>
</head>
<body>
<header class="top">
<h1>Verdicts of the latest runs</h1>
<p class="sub">{len(page.claims)} claims from {reproductions} reproductions: the {esc(scope)} under
<code>{esc(page.results_dir)}</code>. Generated {esc(generated.strftime("%Y-%m-%d %H:%M UTC"))} by
<code>repro report --html</code>.</p>
<div class="filters" role="group" aria-label="Show verdicts">{filters}
<span class="shown" id="shown" aria-live="polite"></span></div>
</header>
{problems}
<nav class="toc"><ul>{toc}</ul></nav>
<main>{body}</main>
<p class="empty" id="empty" hidden>No claim has the selected verdicts.</p>
<script>{_JS}</script>
</body>
</html>
"""


def build(results_dir: Path, names: Sequence[str] | None = None, profile: str | None = None,
          statements: dict[str, str] | None = None) -> tuple[str, Page]:
    page = collect(results_dir, names, profile, statements)
    return render(page), page


def write(path: Path, text: str) -> int:
    """Write the page to ``path`` atomically (a temporary file in the same folder, then a rename; the
    user's umask sets the mode, 0644 by default): a failed write leaves no partial page. Returns its
    size in bytes; raises ``OSError``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    with results.atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return len(data)


_CSS = """
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --unk:#9a6700; --unk-bg:#fff8c5;
  --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--fg); background:var(--bg); }
code, .measured, .kv { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size:13px; }
header.top { position:sticky; top:0; z-index:2; background:#fff; border-bottom:1px solid var(--line);
  padding:12px 24px 10px; }
h1 { font-size:22px; margin:0 0 2px; }
.sub { margin:0 0 8px; color:var(--muted); font-size:13px; }
.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:center; }
.filter { cursor:pointer; display:inline-flex; gap:6px; align-items:center; padding:3px 10px 3px 6px;
  border:1px solid var(--line); border-radius:999px; background:#fff; user-select:none; }
.filter input { margin:0; }
.shown { color:var(--muted); font-size:13px; }
.badge { display:inline-block; padding:1px 9px; border-radius:999px; font-weight:600; font-size:13px;
  border:1px solid currentColor; white-space:nowrap; }
.badge.v-reproduced, .chip.v-reproduced { color:var(--ok); background:var(--ok-bg); }
.badge.v-not-reproduced, .chip.v-not-reproduced { color:var(--bad); background:var(--bad-bg); }
.badge.v-inconclusive, .chip.v-inconclusive { color:var(--unk); background:var(--unk-bg); }
.problems { margin:12px 24px 0; padding:8px 14px; border:1px solid var(--bad); background:var(--bad-bg);
  border-radius:6px; }
nav.toc { margin:14px 24px 0; padding:10px 16px; background:#fff; border:1px solid var(--line); border-radius:8px; }
nav.toc ul { list-style:none; margin:0; padding:0; }
nav.toc li { margin:3px 0; }
.stitle { display:inline-block; min-width:260px; font-weight:600; color:var(--fg); text-decoration:none; }
.chip { display:inline-block; margin:1px 2px; padding:0 7px; border-radius:6px; font-size:12px; font-weight:600;
  text-decoration:none; border:1px solid currentColor; }
main { padding:0 24px 40px; }
section h2 { font-size:18px; margin:26px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line); }
.card { background:#fff; border:1px solid var(--line); border-left:6px solid var(--line); border-radius:8px;
  padding:12px 16px; margin:0 0 14px; scroll-margin-top:120px; }
.card.v-reproduced { border-left-color:var(--ok); }
.card.v-not-reproduced { border-left-color:var(--bad); }
.card.v-inconclusive { border-left-color:var(--unk); }
.card > header { display:flex; flex-wrap:wrap; gap:10px; align-items:center; }
.cid { font-size:18px; font-weight:700; color:var(--fg); text-decoration:none; }
.reason { color:var(--muted); font-style:italic; }
.repro { margin-left:auto; color:var(--muted); font-family:ui-monospace, Menlo, Consolas, monospace; font-size:13px; }
.statement { margin:8px 0; font-size:15.5px; }
.muted { color:var(--muted); }
.rule { margin:6px 0; }
.rule code { background:var(--bg); padding:1px 5px; border-radius:4px; overflow-wrap:anywhere; }
.label { font-weight:600; }
.outcome { font-size:12px; color:var(--muted); margin-left:6px; white-space:nowrap; }
.outcome.o-reproduced { color:var(--ok); } .outcome.o-not-reproduced { color:var(--bad); }
table.measured, table.kv { border-collapse:collapse; margin:6px 0; max-width:100%; }
table.measured th, table.measured td, table.kv th, table.kv td { text-align:left; vertical-align:top;
  padding:1px 12px 1px 0; overflow-wrap:anywhere; }
table.measured th, table.kv th { font-weight:normal; color:var(--muted); white-space:nowrap; }
table.measured tr.in-rule th { color:var(--fg); font-weight:600; }
table.measured tr.context td { color:var(--muted); }
.label .muted { font-weight:normal; font-size:12px; }
.note { margin:8px 0; padding:6px 10px; background:var(--bg); border-radius:6px; white-space:pre-line; }
.plots { display:flex; flex-wrap:wrap; gap:12px; margin:8px 0; }
figure { margin:0; max-width:100%; }
figure img { max-width:100%; max-height:480px; width:auto; height:auto; cursor:zoom-in; border:1px solid var(--line); border-radius:4px; background:#fff; }
figure.zoom img { max-width:100%; max-height:none; cursor:zoom-out; }
figcaption { font-size:12px; color:var(--muted); }
details.prov { margin-top:8px; font-size:13px; }
details.prov summary { cursor:pointer; color:var(--muted); }
.fact { margin-right:14px; white-space:nowrap; } .fact b { font-weight:600; color:var(--fg); }
.rtitle { margin:6px 0 2px; font-style:italic; }
.empty { margin:24px; color:var(--muted); }
[hidden] { display:none !important; }
"""

_JS = """
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".filters input[type=checkbox]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var chips = Array.prototype.slice.call(document.querySelectorAll("nav.toc .chip"));
  function selected() {
    var on = {};
    boxes.forEach(function (b) { if (b.checked) { on[b.value] = true; } });
    return on;
  }
  function apply() {
    var on = selected(), shown = 0;
    cards.forEach(function (c) { var v = !!on[c.dataset.verdict]; c.hidden = !v; if (v) { shown += 1; } });
    chips.forEach(function (c) { c.hidden = !on[c.dataset.verdict]; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-section]"), function (s) {
      s.hidden = !s.querySelector("article.card:not([hidden]), .chip:not([hidden])");
    });
    document.getElementById("shown").textContent = "showing " + shown + " of " + cards.length;
    document.getElementById("empty").hidden = shown > 0;
    document.documentElement.setAttribute("data-shown", String(shown));
  }
  function fromHash() {
    var m = /(?:^#|&)filter=([^&]*)/.exec(location.hash);
    if (!m) { return; }
    var wanted = decodeURIComponent(m[1]).split(",");
    boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
  }
  boxes.forEach(function (b) {
    b.addEventListener("change", function () {
      apply();
      var all = boxes.every(function (x) { return x.checked; });
      var value = boxes.filter(function (x) { return x.checked; }).map(function (x) { return x.value; });
      history.replaceState(null, "", all ? location.pathname : "#filter=" + value.join(","));
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("figure img"), function (img) {
    img.addEventListener("click", function () { img.parentNode.classList.toggle("zoom"); });
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
})();
"""
