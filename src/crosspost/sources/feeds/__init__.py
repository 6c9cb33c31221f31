"""Blog relay: RSS and Atom feeds whose new items become posts, each account in its voice.

* `settings`: the ``[feeds.NAME]`` tables and posting slots;
* `fetch`: HTTP (httpx) or file reads with timeouts, a size cap and conditional GET;
* `parse`: feedparser on bytes (never fetching), items turned into template variables;
* `state`: what each feed has seen and how it is doing, in the database;
* `poller`: polls every feed on its own schedule and queues deliveries for new items.
"""
