"""Facebook Pages for crosspost: Meta's Graph API over httpx, the Graph version from config.

facebook-sdk 3.1.0 (2018) rejects every current Graph API version and hides status codes and
headers, so a thin client is used instead (see README.md).
"""

from crosspost_facebook.adapter import FacebookPageAdapter
from crosspost_facebook.graph import classify
from crosspost_facebook.instagram import InstagramAdapter

__all__ = ["FacebookPageAdapter", "InstagramAdapter", "classify"]
