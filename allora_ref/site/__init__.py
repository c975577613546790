"""The offline spec site: the executed notebooks and one page per equation, cross-linked.

``build_site(reports_dir, out_dir)`` writes ``out_dir/index.html`` (the paper's table of
contents), ``eq/NN.html`` (one page per catalogued equation), ``notebooks/<name>.html`` (every
executed notebook in ``reports_dir``), ``claims.html`` and the MathJax it typesets with. Every
page opens from ``file://`` and loads nothing from outside the site.
"""

from allora_ref.site.build import build_site

__all__ = ["build_site"]
