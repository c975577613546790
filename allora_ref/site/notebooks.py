"""Notebook pages: an executed notebook rendered with its outputs, equation numbers linked."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from allora_ref.site.pages import eq_href, head, nav

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Left alone: code, math, existing links and inline HTML.
PROTECTED = re.compile(r"```.*?```|\$\$.*?\$\$|`[^`\n]*`|\$[^$\n]*\$|\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]*>",
                       re.S)
# "Eq 3", "eqs 3-8", "Eqs 3, 9", "eqs 5 and 10": the word, then numbers joined by - , and.
CITATION = re.compile(r"\b([Ee]qs?\.?)(\s+)(\d+(?:(?:\s*[-\u2013,]\s*|\s+and\s+)\d+)*)")
NUMBER = re.compile(r"\d+")
# A heading that shows one of the paper's figures: "## Figure 2 ...".
FIGURE_HEADING = re.compile(r"^(#+ +Figure (\d+)\b)", re.M)
# A display equation tagged as the paper does: "$$ ... \qquad (N)$$".
TAGGED = re.compile(r"(\$\$(?:(?!\$\$).)*?\\q?quad\s*\((\d+)\)\s*\$\$)", re.S)


def link_citations(text: str, numbers: set[int], root: str) -> str:
    """Markdown ``text`` with every cited equation number in ``numbers`` made a link."""
    def numbers_linked(match: re.Match) -> str:
        linked = NUMBER.sub(
            lambda n: f"[{n[0]}]({eq_href(int(n[0]), root)})" if int(n[0]) in numbers else n[0],
            match[3])
        return match[1] + match[2] + linked

    parts, last = [], 0
    for protected in PROTECTED.finditer(text):
        parts.append(CITATION.sub(numbers_linked, text[last:protected.start()]))
        parts.append(protected[0])
        last = protected.end()
    parts.append(CITATION.sub(numbers_linked, text[last:]))
    return "".join(parts)


def anchor_equations(text: str, numbers: set[int]) -> str:
    """Markdown ``text`` with an anchor ``eq-N`` before each display equation tagged (N)."""
    return TAGGED.sub(lambda m: (f'<span id="eq-{m[2]}"></span>' if int(m[2]) in numbers else "")
                      + m[1], text)


def anchor_figures(text: str) -> str:
    """Markdown ``text`` with an anchor ``figure-N`` before each heading "Figure N"."""
    return FIGURE_HEADING.sub(lambda m: f'<span id="figure-{m[2]}"></span>\n\n{m[1]}', text)


def figure_numbers(nb) -> set[int]:
    """The figures of the paper that the notebook shows under a heading of their own."""
    return {int(m[2]) for cell in nb.cells if cell.cell_type == "markdown"
            for m in FIGURE_HEADING.finditer(cell.source)}


def tagged_numbers(nb) -> set[int]:
    """The equation numbers that have an anchor ``eq-N`` on the notebook's page."""
    return {int(m[2]) for cell in nb.cells if cell.cell_type == "markdown"
            for m in TAGGED.finditer(cell.source)}


def cross_linked(nb, numbers: set[int], root: str):
    """A copy of the notebook whose markdown links every equation number to its page."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = anchor_figures(
                anchor_equations(link_citations(cell.source, numbers, root), numbers))
    return nb


# What nbconvert's HTML exporter adds in a second pass over the whole page (a full HTML parse,
# a third of a page's cost): keyboard focus on every cell input and output, a text for images
# without one.
FOCUSABLE = re.compile(r'(<div class="(?:[^"]* )?jp-(?:Cell-inputWrapper|OutputArea-output)(?: [^"]*)?")')
IMAGE_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
NO_ALT = ' alt="No description has been provided for this image"'


def accessible(html: str) -> str:
    """The page with cell inputs and outputs focusable and every image given an alt text."""
    return IMAGE_WITHOUT_ALT.sub("<img" + NO_ALT, FOCUSABLE.sub(r'\1 tabindex="0"', html))


@functools.cache
def exporter():
    """The HTML exporter of notebook pages (its templates compiled once): nbconvert's, with
    ``accessible`` in place of its second pass."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class SiteExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            language = nb.metadata.get("language_info", {})
            self.register_filter("highlight_code", Highlight2HTML(
                pygments_lexer=language.get("pygments_lexer", language.get("name")), parent=self))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(html), resources

    return SiteExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="site",
                        exclude_input_prompt=True, exclude_output_prompt=True)


def notebook_html(nb, name: str, numbers: set[int]) -> str:
    """The page ``notebooks/<name>.html`` of an executed notebook."""
    root = "../"
    html, _ = exporter().from_notebook_node(
        cross_linked(nb, numbers, root),
        resources={"metadata": {"name": name}, "site_head": head(root), "site_nav": nav(root)})
    return html
