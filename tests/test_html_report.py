"""`repro report --html`: the page built from run folders (contents, order, escaping, plots, writing)."""
import base64
import os
import re

import pytest
from html_runs import claim_row, make_run, png, sample_results

from keras_repro.suite import html_report


def _cards(page: str) -> dict[str, str]:
    """claim ID → its card's HTML."""
    found = re.findall(r'<article class="card [^"]*" id="([^"]+)" data-verdict="[^"]*">(.*?)</article>', page, re.S)
    return dict(found)


@pytest.fixture
def sample(tmp_path):
    verdicts = sample_results(tmp_path / "results")
    text, page = html_report.build(tmp_path / "results", statements={"C1.3": "One <b>neuron</b> cannot do XOR."})
    return text, page, verdicts


def test_every_claim_has_a_card_with_its_verdict_in_natural_order(sample):
    text, page, verdicts = sample
    cards = _cards(text)
    assert list(cards) == ["C1.2", "C1.3", "C1.10", "C2.1", "C3.1", "C3.1b"]  # natural order, not C1.10 < C1.2
    for claim_id, verdict in verdicts.items():
        css = verdict.replace(" ", "-")
        assert f'id="{claim_id}" data-verdict="{css}"' in text
        assert f'<span class="badge v-{css}">{verdict}</span>' in cards[claim_id]  # colour class and the word
    assert not page.problems


def test_sections_toc_and_counts(sample):
    text, _, _ = sample
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert headings == ["1. A neuron and a network", "2. Building a network", "3. Tasks"]
    toc = re.search(r'<nav class="toc">(.*?)</nav>', text, re.S)[1]
    assert re.findall(r'href="#([^"]+)"', toc) == ["s1", "C1.2", "C1.3", "C1.10", "s2", "C2.1", "s3", "C3.1", "C3.1b"]
    for verdict, n in (("reproduced", 2), ("not-reproduced", 2), ("inconclusive", 2)):
        assert re.search(rf'value="{verdict}" checked><span class="badge v-{verdict}">[^<]*</span> '
                         rf'<b class="count">{n}</b>', text)


def test_card_shows_statement_reason_rule_measured_note_and_provenance(sample):
    text, _, _ = sample
    card = _cards(text)["C1.3"]
    assert "One &lt;b&gt;neuron&lt;/b&gt; cannot do XOR." in card
    assert "claim contradicted" in card and "<code>value &gt;= 1</code>" in card
    assert "<th>value</th><td>1</td>" in card and "<th>extra</th><td>2</td>" in card
    assert 'class="in-rule"><th>value</th>' in card and 'class="context"><th>extra</th>' in card
    for fact in ("alpha/20260101-000000-default-s0", "2026-01-01 00:00 UTC", "0123456789", "tensorflow",
                 "CPU: x86_64, 2 cores", "<b>profile</b> default", "<b>seed</b> 0", "<th>keras</th><td>3.15.1</td>",
                 "<th>torch</th><td>not installed</td>"):
        assert fact in card, fact
    assert "statement not available" in _cards(text)["C2.1"]


def test_text_from_run_folders_is_escaped(sample):
    text, _, _ = sample
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in _cards(text)["C1.3"]
    assert text.count("<script>") == 1  # the page's own filter script only


def test_plots_are_embedded_with_their_claim_or_with_every_claim_of_the_run(sample, tmp_path):
    text, _, _ = sample
    cards = _cards(text)
    curve = base64.b64encode(png(colour=(10, 120, 200))).decode()
    shared = base64.b64encode(png(colour=(20, 160, 60))).decode()
    assert f'src="data:image/png;base64,{curve}" alt="C1.3_curve.png"' in cards["C1.3"]
    assert curve not in cards["C1.2"] and curve not in cards["C1.10"]  # named for C1.3: C1.3's only
    assert all(shared in cards[c] for c in ("C1.2", "C1.3", "C1.10"))
    assert 'width="4" height="3"' in cards["C1.3"]
    assert "<img" not in cards["C2.1"]
    assert not re.search(r'(src|href)="(?!data:|#)', text)  # nothing is fetched: the page works offline


def test_a_file_that_is_not_a_png_is_not_embedded(tmp_path):
    make_run(tmp_path, "alpha", [claim_row("C1.1", "reproduced")], plots={"fake.png": b"<html>not a png</html>"})
    text, _ = html_report.build(tmp_path)
    assert "<img" not in text and "not a png" not in text


def test_latest_completed_run_of_the_profile_is_shown(tmp_path):
    make_run(tmp_path, "alpha", [claim_row("C1.1", "reproduced")], run_id="20260101-000000-default-s0")
    make_run(tmp_path, "alpha", [claim_row("C1.1", "not reproduced")], run_id="20260102-000000-smoke-s0",
             profile="smoke")
    assert 'data-verdict="not-reproduced"' in html_report.build(tmp_path)[0]
    only_default = html_report.build(tmp_path, profile="default")[0]
    assert 'data-verdict="reproduced"' in only_default and "20260101-000000-default-s0" in only_default


def test_a_damaged_run_is_named_on_the_page(tmp_path):
    sample_results(tmp_path)
    (tmp_path / "beta" / "20260101-000000-default-s0" / "claims.csv").write_text("claim_id\nC2.1\n")
    text, page = html_report.build(tmp_path)
    assert page.problems and 'class="problems"' in text and "C2.1" not in _cards(text)


def test_natural_key():
    ids = ["C1.10", "C1.2", "C3.1b", "C3.2", "C3.1", "C10.1", "C2.1"]
    assert sorted(ids, key=html_report.natural_key) == ["C1.2", "C1.10", "C2.1", "C3.1", "C3.1b", "C3.2", "C10.1"]


def test_write_is_atomic_with_the_umask_mode(tmp_path):
    target = tmp_path / "site" / "index.html"
    assert html_report.write(target, "<p>é</p>") == len("<p>é</p>".encode())
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text(encoding="utf-8") == "<p>é</p>" and (target.stat().st_mode & 0o777) == 0o666 & ~umask
    assert os.listdir(target.parent) == ["index.html"]  # no temporary file left
    with pytest.raises(OSError):
        html_report.write(tmp_path / "site", "x")  # a folder: the rename fails
    assert os.listdir(target.parent) == ["index.html"] and os.listdir(tmp_path) == ["site"]


# -- through the CLI ---------------------------------------------------------------------------------

@pytest.fixture
def fake_registered():
    from fakes import FAKE_CLAIMS, FakeConfig, fake_run

    from keras_repro.suite import registry

    registry.reproduction("fake_repro", title="A fake", claims=FAKE_CLAIMS, config=FakeConfig)(fake_run)
    yield
    registry._REGISTRY.pop("fake_repro", None)


def test_cli_writes_the_page_with_the_registered_statements(fake_registered, tmp_path):
    from click.testing import CliRunner

    from keras_repro.cli import main

    make_run(tmp_path, "fake_repro", [claim_row("C0.1", "reproduced"), claim_row("C0.2", "not reproduced")])
    out = tmp_path / "site" / "index.html"
    result = CliRunner().invoke(main, ["report", "--results-dir", str(tmp_path), "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert f"written: {out}" in result.output
    page = out.read_text(encoding="utf-8")
    assert "value is at least 1" in page and "value is at least 2" in page  # statements from the registry
    assert list(_cards(page)) == ["C0.1", "C0.2"]


def test_cli_unwritable_path_is_one_error_line_and_no_file(fake_registered, tmp_path):
    from click.testing import CliRunner

    from keras_repro.cli import main

    make_run(tmp_path / "r", "fake_repro", [claim_row("C0.1", "reproduced"), claim_row("C0.2", "reproduced")])
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for target in (blocker / "index.html", tmp_path / "r"):  # under a file; onto a folder
        result = CliRunner().invoke(main, ["report", "--results-dir", str(tmp_path / "r"), "--html", str(target)])
        assert result.exit_code == 1
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and errors[0].startswith(f"Error: cannot write {target}: "), result.output
        assert "Traceback" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["file", "r"] and sorted(os.listdir(tmp_path / "r")) == ["fake_repro"]
