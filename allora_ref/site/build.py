"""Build the site: ``python -m allora_ref.site [--reports reports] [--out reports/site]``."""

from __future__ import annotations

import functools
import shutil
from html import escape
from pathlib import Path

from allora_ref.atomic import write_text_atomic
from allora_ref.site.equations import Equation, equations, read_catalog
from allora_ref.site.notebooks import figure_numbers, notebook_html, tagged_numbers
from allora_ref.site.pages import eq_href, page

# The paper's table of contents (sections 3-5 hold the numbered equations and Figures 2-4).
SECTIONS = {
    "3": "Allora's Context-Aware and Self-Improving Intelligence Mechanism",
    "3.1": "The Allora Inference Synthesis Logic",
    "3.2": "Confidence Intervals on the Network Inference",
    "3.3": "Numerical Simulation of Allora's Inference Synthesis and Performance",
    "4": "Allora's Differentiated Incentive Structure",
    "4.1": "Reward Distribution among Individual Network Participants",
    "4.2": "Reward Division between Network Tasks",
    "5": "Allora Tokenomics",
    "5.1": "Token Emission Rate",
    "5.2": "Reward Distribution to Topics and Network Validators",
    "5.3": "Consumer Fee Pricing Model",
}
# The paper's figures drawn by the notebooks: number -> (section, caption).
FIGURES = {
    2: ("3.3", "Figure 2: losses of the inferences, forecast-implied inferences and the network"),
    3: ("4.2", "Figure 3: rewards per class and participant"),
    4: ("5.1", "Figure 4: staking APY through a major unlock"),
}
MATHJAX_SKIP = ("a11y", "localization")


@functools.lru_cache(maxsize=None)
def highlighted(code: str) -> str:
    """Python source as highlighted HTML."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def stylesheet() -> str:
    """The site's stylesheet: the layout below and pygments' colours."""
    from pygments.formatters import HtmlFormatter

    return (Path(__file__).with_name("style.css").read_text()
            + HtmlFormatter(cssclass="highlight").get_style_defs(".highlight") + "\n")


def copy_mathjax(out_dir: Path) -> None:
    """The MathJax shipped by the pinned ``jupyter-server-mathjax`` package, into the site
    (kept if the same version is there already)."""
    from importlib.metadata import version

    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target, stamp = out_dir / "mathjax", f"jupyter-server-mathjax {version('jupyter-server-mathjax')}\n"
    if (target / "VERSION").is_file() and (target / "VERSION").read_text() == stamp:
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*MATHJAX_SKIP))
    (target / "VERSION").write_text(stamp)


def notebook_title(nb, fallback: str) -> str:
    """The notebook's first level-one heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def equation_page(eq: Equation, notebooks: dict[str, str], anchors: dict[str, set[int]],
                  previous: int | None, following: int | None) -> str:
    """``eq/NN.html``: the paper's equation typeset, then everything that specifies it."""
    e, root = eq.entry, "../"
    n = eq.number
    steps = " ".join(
        [f'<a href="{eq_href(previous, root)}">&larr; eq {previous}</a>' if previous else "",
         f'<a href="{eq_href(following, root)}">eq {following} &rarr;</a>' if following else ""])
    section = e["section"]
    parts = [f'<p class="crumbs"><a href="{root}index.html#s{section}">&sect;{section} '
             f'{escape(SECTIONS.get(section, ""))}</a> {steps}</p>',
             f'<h1>Equation {n}: {escape(e["title"])}</h1>',
             f'<div class="equation">$${escape(e["latex"])} \\tag{{{n}}}$$</div>']
    if "printed" in e:
        parts.append(f'<p class="erratum">Erratum: the paper prints</p>'
                     f'<div class="equation printed">$${escape(e["printed"])}$$</div>')
    if e.get("note"):
        parts.append(f'<p class="note">{escape(e["note"])}</p>')
    established = e.get("established")
    if established:
        items = (established if isinstance(established, list) else
                 [f"{k}: {v}" for k, v in established.items()] if isinstance(established, dict)
                 else [established])
        parts.append("<h2>How it is established</h2><ul>"
                     + "".join(f"<li>{escape(str(item))}</li>" for item in items) + "</ul>")
    if eq.check:
        parts.append(f"<p>The notebook's cell <code>{escape(eq.check.name)}</code>:</p>"
                     + highlighted(eq.check.code))
    if e.get("sympy"):
        parts.append(f'<p>Closed form checked with sympy: <code>{escape(e["sympy"])}</code> '
                     f'(symbols <code>{escape(e.get("symbols", ""))}</code>).</p>')
    stem = Path(e.get("notebook", "")).stem
    if stem:
        fragment = f"#eq-{n}" if n in anchors.get(stem, set()) else ""
        where = (f'<a href="{root}notebooks/{stem}.html{fragment}">{escape(notebooks[stem])}</a>'
                 if stem in notebooks else f"<code>{escape(e['notebook'])}</code>")
        parts.append(f"<h2>Derivation</h2><p>{where}</p>")
    parts.append("<h2>Implementation</h2>" + ("".join(
        f"<h3><code>{escape(f.name)}</code></h3>{highlighted(f.code)}" for f in eq.functions)
        or "<p>None yet.</p>"))
    parts.append(f"<h2>Tests ({len(eq.tests)})</h2>" + "".join(
        f"<details><summary><code>{escape(t.name)}</code></summary>"
        f'<pre class="highlight">{escape(t.code)}</pre></details>'
        for t in eq.tests))
    parts.append(f"<h2>Vectors ({len(eq.vectors)} cases)</h2>")
    if eq.vectors:
        parts.append(f'<details{" open" if len(eq.vectors) <= 12 else ""}><summary>the cases '
                     f'that cover eq {n}</summary><table class="vectors"><tr><th>case</th>'
                     '<th>description</th></tr>' + "".join(
            f'<tr><td><code>{escape(v["id"])}</code></td><td>{escape(v.get("description", ""))}</td></tr>'
            for v in eq.vectors) + "</table></details>")
    parts.append("<h2>Profile fields that change it</h2>")
    if eq.fields:
        names = list(eq.fields[0].values)
        parts.append('<table class="profiles"><tr><th>field</th>'
                     + "".join(f"<th>{escape(p)}</th>" for p in names) + "<th>meaning</th></tr>"
                     + "".join(f'<tr><td><code>{escape(f.name)}</code></td>'
                               + "".join(f"<td><code>{escape(str(f.values[p]))}</code></td>"
                                         for p in names)
                               + f'<td class="doc">{escape(f.doc)}</td></tr>' for f in eq.fields)
                     + "</table>")
    else:
        parts.append("<p>None: every profile computes it the same way.</p>")
    return page(f"Eq {n}: {e['title']}", "\n".join(parts), root)


def index_page(eqs: list[Equation], notebooks: dict[str, str], figures: dict[int, str],
               claims: bool) -> str:
    """``index.html``: the paper's table of contents, every equation one click away."""
    by_section: dict[str, list[Equation]] = {}
    for eq in eqs:
        by_section.setdefault(eq.entry["section"], []).append(eq)
    grid = "".join(f'<a href="{eq_href(eq.number, "")}" title="{escape(eq.entry["title"])}">'
                   f"{eq.number}</a>" for eq in eqs)
    parts = ["<h1>Allora whitepaper v2024.8.14: the executable specification</h1>",
             "<p>Every numbered equation of the paper, typeset beside the code that computes it, "
             "its tests, the test vectors that cover it and the profile fields that change it; "
             "every section's notebook, executed, with its outputs and figures.</p>",
             f'<h2 id="equations">Equations</h2><p class="eq-grid">{grid}</p>',
             "<h2>Contents</h2>"]
    used = set()
    for section, title in SECTIONS.items():
        depth = "h3" if "." not in section else "h4"
        parts.append(f'<{depth} id="s{section}">&sect;{section} {escape(title)}</{depth}>')
        stems = sorted({Path(eq.entry.get("notebook", "")).stem for eq in by_section.get(section, [])}
                       & notebooks.keys())
        used.update(stems)
        items = [f'<li class="notebook"><a href="notebooks/{s}.html">{escape(notebooks[s])}</a></li>'
                 for s in stems]
        items += [f'<li><a href="{eq_href(eq.number, "")}">Eq {eq.number}</a> '
                  f'{escape(eq.entry["title"])}</li>' for eq in by_section.get(section, [])]
        items += [f'<li class="figure"><a href="notebooks/{figures[n]}.html#figure-{n}">'
                  f"{escape(caption)}</a></li>"
                  for n, (sec, caption) in FIGURES.items() if sec == section and n in figures]
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
    rest = [s for s in notebooks if s not in used]
    parts.append('<h3 id="beyond">Beyond the sections: the whole step and the claims</h3><ul>'
                 + "".join(f'<li class="notebook"><a href="notebooks/{s}.html">{escape(notebooks[s])}</a></li>'
                           for s in rest)
                 + ('<li><a href="claims.html">The claims ledger</a>: every quantitative claim of '
                    'the paper, measured</li>' if claims else "")
                 + "</ul>")
    return page("allora-ref: the spec beside the paper", "\n".join(parts), "")


def claims_page(markdown: str | None) -> str:
    """``claims.html``: the claims ledger rendered from ``claims.md``."""
    if markdown is None:
        body = "<h1>Claims ledger</h1><p>Not generated in this build: run <code>make reports</code>.</p>"
    else:
        from nbconvert.filters import markdown2html

        body = markdown2html(markdown)
    return page("Claims ledger", body, "")


def notebook_page(reports_dir: Path, out_dir: Path, stem: str, nb=None,
                  numbers: set[int] | None = None) -> None:
    """Write ``notebooks/<stem>.html`` from the executed ``reports_dir/<stem>.ipynb`` (``nb`` if
    given) unless the page is newer than it and than the site's code. The reports runner calls
    this as each notebook finishes, so that ``build_site`` finds the page up to date."""
    import nbformat

    target = out_dir / "notebooks" / f"{stem}.html"
    source = (reports_dir / f"{stem}.ipynb").stat().st_mtime
    newest_code = max(path.stat().st_mtime for path in Path(__file__).parent.rglob("*.*"))
    if target.is_file() and target.stat().st_mtime >= max(source, newest_code):
        return
    if nb is None:
        nb = nbformat.read(reports_dir / f"{stem}.ipynb", as_version=4)
    if numbers is None:
        numbers = {entry["number"] for entry in read_catalog()}
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, notebook_html(nb, stem, numbers))


def build_site(reports_dir: Path, out_dir: Path, vectors_dir: Path | None = None) -> int:
    """Write the site for the executed notebooks in ``reports_dir``; returns the page count."""
    import nbformat

    reports_dir, out_dir = Path(reports_dir), Path(out_dir)
    (out_dir / "eq").mkdir(parents=True, exist_ok=True)
    (out_dir / "notebooks").mkdir(exist_ok=True)
    catalog = read_catalog()
    eqs = equations(catalog) if vectors_dir is None else equations(catalog, vectors_dir)
    numbers = {eq.number for eq in eqs}
    executed = {path.stem: nbformat.read(path, as_version=4)
                for path in sorted(reports_dir.glob("*.ipynb")) if not path.stem.endswith(".failed")}
    titles = {stem: notebook_title(nb, stem) for stem, nb in executed.items()}
    anchors = {stem: tagged_numbers(nb) & numbers for stem, nb in executed.items()}
    figures = {n: stem for stem, nb in executed.items() for n in figure_numbers(nb)}
    for stem, nb in executed.items():
        notebook_page(reports_dir, out_dir, stem, nb, numbers)
    ordered = [eq.number for eq in eqs]
    for i, eq in enumerate(eqs):
        write_text_atomic(out_dir / "eq" / f"{eq.number:02d}.html", equation_page(
            eq, titles, anchors, ordered[i - 1] if i else None, ordered[i + 1] if i + 1 < len(eqs) else None))
    claims = reports_dir / "claims.md"
    write_text_atomic(out_dir / "claims.html",
                      claims_page(claims.read_text() if claims.is_file() else None))
    write_text_atomic(out_dir / "index.html", index_page(eqs, titles, figures, claims.is_file()))
    write_text_atomic(out_dir / "style.css", stylesheet())
    copy_mathjax(out_dir)
    return len(executed) + len(eqs) + 2
