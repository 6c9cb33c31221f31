"""LinkedIn for crosspost: a member's profile or an organization's page, via `POST /rest/posts`.

A thin client over httpx: python-linkedin-v2 has no posting endpoint and LinkedIn's own client
has a proprietary licence (see README.md). Commentary is "little text": the 14 reserved
characters are backslash-escaped (unescaped, LinkedIn answers 201 and silently cuts the post),
links are left whole, and #hashtags become hashtag templates so they stay clickable.
"""

from crosspost_linkedin.adapter import LinkedInAdapter, escape_little_text

__all__ = ["LinkedInAdapter", "escape_little_text"]
