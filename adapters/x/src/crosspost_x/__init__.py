"""X (Twitter) for crosspost: tweepy's v2 client for posts and threads, X's v2 media upload
written here (tweepy has none), OAuth 1.0a user tokens or OAuth 2.0 with refresh."""

from crosspost_x.adapter import XAdapter
from crosspost_x.session import classify

__all__ = ["XAdapter", "classify"]
