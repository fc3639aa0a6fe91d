"""The `repro report --html` page opened in a real headless Chromium (Debian's package; `.ci/run` installs it).

Through the DevTools protocol (tests/browser.py): the page loads with no console error, no uncaught
exception and no request other than the file itself and its embedded ``data:`` images; every claim ID
is on screen in its card; the screenshot is not blank; the verdict filter hides and shows cards, from
its checkboxes and from ``#filter=`` in the address. Not skipped when Chromium is missing: it fails.
"""
import io
import json
from pathlib import Path

import numpy as np
import pytest
from browser import Browser, file_url, find_chromium
from html_runs import sample_results
from PIL import Image

from keras_repro.suite import html_report

REPO = Path(__file__).resolve().parents[1]

VISIBLE = """JSON.stringify(Array.from(document.querySelectorAll("article.card")).filter(function (c) {
  var r = c.getBoundingClientRect();
  return !c.hidden && r.width > 0 && r.height > 0 && getComputedStyle(c).visibility === "visible"
    && c.querySelector(".cid").innerText === c.id && c.innerText.indexOf(c.dataset.verdict.replace("-", " ")) >= 0;
}).map(function (c) { return c.id; }))"""


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.fail("Chromium is needed for this test and was not found (looked for $CHROMIUM, /usr/bin/chromium, "
                    "chromium on PATH): install it, e.g. `apt-get install chromium` as .ci/run does")
    with Browser(binary, width=1280, height=1600) as b:
        yield b


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    verdicts = sample_results(root / "results")
    text, _ = html_report.build(root / "results", statements={"C1.3": "One neuron cannot implement XOR."})
    html_report.write(root / "index.html", text)
    return root / "index.html", verdicts


def _open(browser, url):
    mark = len(browser.events)
    browser.open(url)
    return mark


def _visible(browser) -> list[str]:
    return json.loads(browser.evaluate(VISIBLE))


def test_page_loads_offline_without_errors_and_shows_every_claim(browser, sample_page, tmp_path):
    page, verdicts = sample_page
    mark = _open(browser, file_url(page))
    new = browser.events[mark:]
    assert browser.errors() == [], browser.errors()
    requests = [e["params"]["request"]["url"] for e in new if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(u.startswith((file_url(page), "data:")) for u in requests), requests
    assert _visible(browser) == ["C1.2", "C1.3", "C1.10", "C2.1", "C3.1", "C3.1b"]
    # wait for each image to be decoded (on a loaded machine it can come after the load event), at most 20 s
    images = browser.evaluate(
        'Promise.all(Array.from(document.images).map(function (i) { return Promise.race(['
        'i.decode().then(function () { return i.naturalWidth; }, function () { return 0; }),'
        'new Promise(function (r) { setTimeout(function () { r(-1); }, 20000); })]); }))')
    assert images == [4] * 4  # C1.3's own plot and the run's shared plot on its three claims: all decoded
    assert browser.evaluate('document.getElementById("C1.3").querySelector(".note").innerText') \
        == "<script>alert('x')</script> & more"  # shown as text, never run
    shot = browser.screenshot()
    (tmp_path / "screenshot.png").write_bytes(shot)
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=float)
    assert pixels.shape[1] == 1280 and pixels.shape[0] > 1000  # the viewport (the window less its frame)
    assert pixels.std() > 20, "the screenshot is blank"
    green = (np.abs(pixels - [26, 127, 55]).sum(axis=2) < 30).sum()  # the 'reproduced' colour is drawn
    assert green > 50


def test_filter_by_verdict(browser, sample_page):
    page, verdicts = sample_page
    _open(browser, file_url(page) + "#filter=reproduced")
    assert _visible(browser) == ["C1.10", "C2.1"]
    assert browser.evaluate('document.getElementById("s3").hidden') is True  # a section with none of them
    assert browser.evaluate('document.getElementById("shown").textContent') == "showing 2 of 6"
    browser.evaluate('document.querySelector(".filters input[value=inconclusive]").click()')
    assert _visible(browser) == ["C1.2", "C1.10", "C2.1", "C3.1b"]
    assert browser.evaluate("location.hash") == "#filter=reproduced,inconclusive"
    browser.evaluate('document.querySelectorAll(".filters input:checked").forEach(function (b) { b.click(); })')
    assert _visible(browser) == [] and browser.evaluate('document.getElementById("empty").hidden') is False
    browser.evaluate('document.querySelectorAll(".filters input").forEach(function (b) { b.click(); })')
    assert _visible(browser) == sorted(verdicts, key=html_report.natural_key)
    assert browser.errors() == []


def test_the_committed_reference_results_render(browser, tmp_path):
    """The page of the repository's own results/ (when it holds runs): every claim visible, no error."""
    page = tmp_path / "index.html"
    text, built = html_report.build(REPO / "results")
    assert built.claims and not built.problems, built.problems
    html_report.write(page, text)
    _open(browser, file_url(page))
    assert browser.errors() == []
    assert _visible(browser) == [c.claim_id for c in built.claims]
