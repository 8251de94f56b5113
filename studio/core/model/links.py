"""What a preset's link points at, in the words of the card's link ("Read the paper ↗" only for
a paper): a learner should know before clicking whether a paper, a repository or a post opens."""
from __future__ import annotations

from urllib.parse import urlparse

PAPER_HOSTS = ("arxiv.org", "openreview.net", "aclanthology.org", "proceedings.mlr.press", "papers.nips.cc",
               "proceedings.neurips.cc", "dl.acm.org")
REPOSITORY_HOSTS = ("github.com", "gitlab.com", "codeberg.org", "bitbucket.org")


def link_label(url: str) -> str:
    """The card's words for a link: paper, repository, code snippet, model page, else a post."""
    u = urlparse(str(url or "").strip())
    host = (u.hostname or "").lower().removeprefix("www.")
    path = u.path.lower()
    if host == "gist.github.com":
        return "Open the code ↗"
    if any(host == h or host.endswith("." + h) for h in REPOSITORY_HOSTS):
        return "Open the repository ↗"
    if host == "huggingface.co" or host.endswith(".huggingface.co"):
        return "Open the model page ↗"
    if path.endswith(".pdf") or any(host == h or host.endswith("." + h) for h in PAPER_HOSTS):
        return "Read the paper ↗"
    return "Read the post ↗"
