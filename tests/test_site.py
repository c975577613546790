"""The offline spec site: built into a temporary folder from a small executed notebook, its
links and pages checked as files, then opened in headless Chromium with the network off."""

from __future__ import annotations

import html
import os
import re
import shutil
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from allora_ref.site import build_site
from allora_ref.site.notebooks import link_citations
from chromium import Browser, chromium

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "03_2_confidence_intervals"        # the catalog's notebook of eqs 16-18
CLAIMS = "# Claims ledger\n\n| # | claim | verdict |\n|---|---|---|\n| 1 | a claim | holds |\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site of one small executed notebook and a claims ledger."""
    reports = tmp_path_factory.mktemp("reports")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(
            "# §3.2 Confidence intervals (eqs 16-18)\n\n## Eq 16: cumulative weights\n\n"
            "The cumulative weights $$C_i = \\sum_{j \\le i} w_j \\qquad (16)$$ feed eqs 17 and "
            "18; `eq 5` in code and $eq 6$ in math stay as they are.\n\n"
            "## Figure 3 (§4.2): drawn here"),
        nbformat.v4.new_code_cell("print(1 + 1)", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="2\n")])])
    nbformat.write(nb, reports / f"{NOTEBOOK}.ipynb")
    (reports / "claims.md").write_text(CLAIMS)
    out = reports / "site"
    build_site(reports, out)
    return out


class _Page(HTMLParser):
    """The ids and the href/src references of one HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.ids, self.references = set(), []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.references.append(attrs[name])


def pages(site: Path) -> dict[Path, _Page]:
    return {path: _Page(path.read_text()) for path in site.rglob("*.html")
            if "mathjax" not in path.relative_to(site).parts}


def test_every_reference_resolves_inside_the_site(site):
    """Each href/src of every page is a file of the site (and its #fragment an id there);
    nothing points outside the site."""
    parsed = pages(site)
    assert len(parsed) == 57 + 3              # equations, notebook, index, claims
    checked, broken = 0, []
    for path, page in parsed.items():
        for reference in page.references:
            url = urlsplit(reference)
            if url.scheme == "data":
                continue
            if url.scheme or url.netloc:
                broken.append(f"{path.name}: {reference} leaves the site")
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if not target.is_file() or site.resolve() not in target.parents:
                broken.append(f"{path.name}: {reference} does not exist in the site")
            elif url.fragment and url.fragment not in (parsed.get(target) or _Page(
                    target.read_text())).ids:
                broken.append(f"{path.name}: {reference} has no such anchor")
            checked += 1
    assert not broken, "\n".join(broken[:20])
    assert checked > 57 * 5


def test_equation_page_shows_code_tests_vectors_and_profile_values(site):
    """Eq 2's page: its LaTeX under its number, its function's source, its tests, the vector
    cases of eq 2 and the value of log_base in every preset, read from the preset files."""
    entry = next(e for e in tomllib.loads((ROOT / "equations" / "catalog.toml").read_text())
                 ["equation"] if e["number"] == 2)
    text = (site / "eq" / "02.html").read_text()
    assert "\\log L_{ijk} = M_{ijk}(D_{ijk}) \\tag{2}" in text
    assert "def forecasted_log_losses(" in html.unescape(re.sub("<[^>]+>", "", text))
    assert all(test in text for test in entry["tests"])
    assert "whitepaper/function/forecasted_log_losses/" in text
    for preset in sorted((ROOT / "allora_ref" / "presets").glob("*.toml")):
        value = tomllib.loads(preset.read_text())["log_base"]
        assert f"<th>{preset.stem}</th>" in text and f"<code>{value}</code>" in text
    assert '<a href="../eq/01.html">' in text and '<a href="../eq/03.html">' in text


def test_notebook_page_links_equations_and_keeps_math_and_code(site):
    text = (site / "notebooks" / f"{NOTEBOOK}.html").read_text()
    assert '<span id="eq-16"></span>' in text
    assert '<a href="../eq/17.html">17</a>' in text and '<a href="../eq/18.html">18</a>' in text
    assert "../eq/05.html" not in text and "../eq/06.html" not in text
    assert "cdn" not in text.lower() and "require.js" not in text
    assert (site / "eq" / "16.html").read_text().count(f"../notebooks/{NOTEBOOK}.html#eq-16") == 1
    assert f'href="notebooks/{NOTEBOOK}.html#figure-3"' in (site / "index.html").read_text()


def test_citations_are_linked_outside_math_code_and_links():
    assert link_citations("Eqs 3-8, eq 9 and eqs 5 and 10; $eq 4$ `eq 5` [eq 6](x) eq 99",
                          {3, 4, 5, 6, 8, 9, 10}, "") == (
        "Eqs [3](eq/03.html)-[8](eq/08.html), eq [9](eq/09.html) and eqs [5](eq/05.html) and "
        "[10](eq/10.html); $eq 4$ `eq 5` [eq 6](x) eq 99")


def test_claims_page_is_a_table(site):
    text = (site / "claims.html").read_text()
    assert "<table>" in text and "<td>a claim</td>" in text and "| # |" not in text


def test_site_in_chromium_offline(site, tmp_path):
    """The index and two equation pages in headless Chromium, network off: math typeset (no raw
    TeX left, no MathJax error), every request a file of the site, none failed, every link a
    file of the site. Screenshots of the index and eq 3 (also into $ALLORA_SITE_SCREENSHOTS)."""
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must drive the site in a browser")
        pytest.skip("chromium not installed (apt-get install chromium)")
    root = site.resolve().as_uri()
    with Browser() as browser:
        visits = {name: browser.visit(f"{root}/{name}", screenshot=name != "eq/16.html")
                  for name in ("index.html", "eq/03.html", "eq/16.html")}
    for name, visit in visits.items():
        assert visit.shown["math"] >= (1 if name != "index.html" else 0), name
        assert visit.shown["errors"] == 0 and not visit.shown["raw"], (name, visit.shown)
        assert visit.failed == [], (name, visit.failed)
        outside = [u for u in visit.requests if not (u.startswith(root + "/") or u.startswith("data:"))]
        assert visit.requests and outside == [], (name, outside)
        assert any("/mathjax/" in u for u in visit.requests), name
        links = [unquote(urlsplit(u).path) for u in visit.shown["links"]]
        assert links and all(Path(p).is_file() for p in links), (name, links)
    assert visits["eq/03.html"].shown["math"] >= 2          # the equation and its number
    assert sum(1 for u in visits["eq/16.html"].shown["links"] if f"{NOTEBOOK}.html#eq-16" in u) == 1
    for name in ("index.html", "eq/03.html"):
        png = visits[name].screenshot
        assert png.startswith(b"\x89PNG")
        (tmp_path / name.replace("/", "-").replace(".html", ".png")).write_bytes(png)
    if os.environ.get("ALLORA_SITE_SCREENSHOTS"):
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(os.environ["ALLORA_SITE_SCREENSHOTS"]) / f"site-{png.name}")


def test_equation_page_shows_how_it_is_established(site):
    """A proven equation's page names how it is established and shows the notebook's proof
    cell (the cell the catalog names, found in the notebook's source)."""
    entry = next(e for e in tomllib.loads((ROOT / "equations" / "catalog.toml").read_text())
                 ["equation"] if e.get("cell"))
    text = html.unescape(re.sub("<[^>]+>", "", (site / "eq" / f"{entry['number']:02d}.html")
                                .read_text()))
    assert "How it is established" in text and entry["established"] in text
    assert f"# {entry['cell']}\n" in text and "assert" in text.split(f"# {entry['cell']}")[1]
