"""README.rst and doc/*.rst stand on their own in a clone of the repository: they point
nowhere outside it, every repository path they name exists, README.rst links every
page of doc/, and each page parses without a docutils warning."""

import glob
import io
import os
import re

import pytest

try:
    from docutils import core as docutils_core
except ImportError:
    docutils_core = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC_PAGES = sorted(os.path.relpath(path, REPO)
                   for path in glob.glob(os.path.join(REPO, "doc", "*.rst")))
PAGES = ["README.rst"] + DOC_PAGES
LITERAL = re.compile(r"``(.+?)``", re.S)
# `text <target>`_ and `text <target>`__, and explicit targets '.. _name: target'.
INLINE_TARGET = re.compile(r"`[^`]*?<([^<>`]+)>`__?")
EXPLICIT_TARGET = re.compile(r"^\.\. _[^:]+:\s+(\S+)", re.M)
URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _read(page):
    with open(os.path.join(REPO, page), encoding="utf-8") as handle:
        return handle.read()


def _top_level_dirs():
    return {name for name in os.listdir(REPO)
            if name != ".git" and os.path.isdir(os.path.join(REPO, name))}


def repository_paths(text, top_level_dirs):
    """Words of ``literals`` that name a repository path: a '/' in them, and a first
    component that is a top-level directory of the repository."""
    for literal in LITERAL.findall(text):
        for word in literal.split():
            if "/" in word and word.split("/", 1)[0] in top_level_dirs:
                yield word


def link_targets(text):
    """Hyperlink targets that are files (no URI scheme, not a reference to a name)."""
    for target in INLINE_TARGET.findall(text) + EXPLICIT_TARGET.findall(text):
        target = target.strip()
        if URI_SCHEME.match(target) or target.endswith("_") or target.startswith("#"):
            continue
        yield target.split("#", 1)[0]


def test_there_are_doc_pages():
    assert {"doc/architecture.rst", "doc/two-agents.rst"} <= set(DOC_PAGES)


def test_the_helpers_find_paths_and_targets():
    text = ("See ``tools/up``, ``hybridhost --config-file etc/x.conf render``, ``conf/`` and\n"
            "``<state>/lab``, ``hh.vm``, ``/etc/hybridhost``; `a <doc/a.rst>`__, "
            "`b <https://example.org/b>`_, `c <c_>`_.\n\n.. _d: doc/d.rst\n")
    assert list(repository_paths(text, {"tools", "etc", "conf"})) == [
        "tools/up", "etc/x.conf", "conf/"]
    assert list(link_targets(text)) == ["doc/a.rst", "doc/d.rst"]


@pytest.mark.parametrize("page", PAGES)
def test_page_points_nowhere_outside_the_repository(page):
    text = _read(page)
    assert "../" not in text, "%s refers to a path outside the repository" % page
    for target in link_targets(text):
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), target))
        assert not resolved.startswith(".."), "%s links outside the repository: %s" % (
            page, target)


@pytest.mark.parametrize("page", PAGES)
def test_every_repository_path_named_exists(page):
    text = _read(page)
    missing = [path for path in repository_paths(text, _top_level_dirs())
               if not glob.glob(os.path.join(REPO, path))]
    missing += [target for target in link_targets(text)
                if not os.path.exists(os.path.join(REPO, os.path.dirname(page), target))]
    assert not missing, "%s names paths that do not exist: %s" % (page, missing)


def test_readme_links_every_doc_page():
    targets = set(link_targets(_read("README.rst")))
    assert set(DOC_PAGES) <= targets, "README.rst links none of %s" % sorted(
        set(DOC_PAGES) - targets)


def _docutils():
    if docutils_core is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docutils is not installed (tools/install.sh installs it)")
        pytest.skip("docutils not installed; run tools/install.sh")
    return docutils_core


@pytest.mark.parametrize("page", PAGES)
def test_page_parses_without_warnings(page):
    core = _docutils()
    messages = io.StringIO()
    core.publish_doctree(_read(page), source_path=page, settings_overrides={
        "report_level": 2, "halt_level": 5, "warning_stream": messages})
    assert messages.getvalue() == ""
