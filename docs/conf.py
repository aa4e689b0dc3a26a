# Sphinx configuration of mfkit's documentation site: the Markdown pages of docs/ (MyST) with
# the furo theme. Built by scripts/test.sh with warnings as errors:
#   /usr/bin/python3 -m sphinx -W --keep-going -b html docs build/docs/html
project = "mfkit"
copyright = "the mfkit authors; Apache-2.0"
author = "the mfkit authors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "mfkit"
html_static_path = []
smartquotes = False  # "--preset" stays two hyphens
