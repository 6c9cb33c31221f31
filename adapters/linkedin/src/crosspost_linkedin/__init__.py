"""LinkedIn for crosspost: a member's profile or an organization's page, via `POST /rest/posts`.

A thin client over httpx: python-linkedin-v2 has no posting endpoint and LinkedIn's own client
has a proprietary licence (see README.md). Commentary is "little text": the 15 reserved
characters are backslash-escaped (unescaped, LinkedIn answers 201 and silently cuts the post),
URLs and the text inside hashtags included, and #hashtags become hashtag templates so they
stay clickable. After publishing, the post is read back: a text LinkedIn cut anyway is
reported, never taken for a success.
"""

from crosspost_linkedin.adapter import LinkedInAdapter
from crosspost_linkedin.little import escape, to_plain

__all__ = ["LinkedInAdapter", "escape", "to_plain"]
