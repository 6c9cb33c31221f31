"""crosspost: publish planned posts and blog articles to social networks, each in its own voice."""

__version__ = "0.1.0"
