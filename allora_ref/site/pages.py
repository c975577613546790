"""The page shell shared by every page of the site: head (style, local MathJax), navigation."""

from __future__ import annotations

from html import escape

# MathJax 2 (the configuration shipped with it: TeX input, HTML-CSS output) with the web font
# it ships, STIX-Web; no local or image fonts are looked for. When the first typesetting pass is
# over the page root gets data-math="typeset".
MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
            displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  messageStyle: "none", showMathMenu: false,
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}}
});
MathJax.Hub.Register.StartupHook("End", function () {
  document.documentElement.setAttribute("data-math", "typeset");
});
</script>"""


def head(root: str) -> str:
    """Stylesheet and MathJax of a page ``root`` (``""`` or ``"../"``) below the site's top."""
    return (f'<link rel="stylesheet" href="{root}style.css">\n{MATHJAX_CONFIG}\n'
            f'<script src="{root}mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"></script>')


def nav(root: str) -> str:
    """The bar at the top of every page."""
    return (f'<nav class="site-nav"><a href="{root}index.html">allora-ref: the spec beside '
            f'the paper</a> <a href="{root}index.html#equations">equations</a> '
            f'<a href="{root}claims.html">claims</a></nav>')


def page(title: str, body: str, root: str) -> str:
    """A complete page of the site."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{escape(title)}</title>\n{head(root)}\n</head>\n<body>\n{nav(root)}\n'
            f'<main class="site-page">\n{body}\n</main>\n</body>\n</html>\n')


def eq_href(number: int, root: str) -> str:
    """The link to equation ``number``'s page."""
    return f"{root}eq/{number:02d}.html"
