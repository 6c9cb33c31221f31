"""The people behind the posts: `[authors.NAME]` tables of crosspost.toml.

A small company's posts are written by four or five people; each signs its own. An author
has a display name, an optional role, and a signature (by default "— Name, role"), which a
voice writes with ``{{ author.signature }}``. A calendar file may name the author of all its
posts at its top (``author = "camille"``): each team member owns a file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuthorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)  # as readers see it: "Camille"
    role: str = ""  # "gérante"
    signature: str = ""  # default: "— Camille, gérante"
