"""Sphinx configuration for the skscore documentation.

Build with ``make -C doc html`` (warnings are errors).  The build is fully
offline: no intersphinx inventories are fetched.
"""

import os
import sys
import warnings
from datetime import date

# Import the package from the source tree, without installing it.
DOC_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(DOC_DIR)
sys.path.insert(0, REPO_ROOT)

import skscore  # noqa: E402

# -- Project information -----------------------------------------------------
project = "skscore"
author = "The skscore developers"
copyright = f"{date.today().year}, {author}"
version = skscore.__version__
release = skscore.__version__

# -- General configuration ---------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"

# autodoc / autosummary
autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"

# numpydoc: the class pages list their members through the autosummary
# template (doc/_templates/class.rst), not through numpydoc.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False  # would need intersphinx

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skscore",),
    "reference_url": {"skscore": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
}

# Examples run headless.
os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

# -- HTML output -------------------------------------------------------------
html_theme = "alabaster"
html_theme_options = {
    "description": "Score-based diffusion density estimators for tabular data",
    "fixed_sidebar": True,
}
html_static_path = []
html_title = f"skscore {release}"

