"""One error tree: everything crosspost raises on purpose is a CrosspostError, in the branch
that says what kind of thing went wrong (and still the built-in class it always was)."""

from __future__ import annotations

import pytest

from crosspost.config.problems import ConfigError
from crosspost.errors import (
    AdapterConfigError,
    AuthError,
    ConfigurationError,
    CrosspostError,
    FeedFailure,
    MissingSecret,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    RenderError,
    StoreUnavailable,
    TransientError,
)
from crosspost.registry import AdapterNotInstalled
from crosspost.render.fitting import DoesNotFit
from crosspost.render.voice import VoiceError
from crosspost.sources.feeds.fetch import FeedError
from crosspost.sources.feeds.parse import MalformedFeed
from crosspost.sources.media import MediaError


@pytest.mark.parametrize(
    ("error", "branch", "builtin"),
    [
        (ConfigError, ConfigurationError, Exception),
        (AdapterConfigError, ConfigurationError, ValueError),
        (MissingSecret, ConfigurationError, ValueError),
        (AdapterNotInstalled, ConfigurationError, LookupError),
        (MediaError, ConfigurationError, ValueError),
        (VoiceError, RenderError, ValueError),
        (DoesNotFit, RenderError, ValueError),
        (TransientError, PublishError, Exception),
        (RateLimited, TransientError, Exception),
        (PermanentError, PublishError, Exception),
        (AuthError, PublishError, Exception),
        (OutcomeUnknown, PublishError, Exception),
        (FeedError, FeedFailure, Exception),
        (MalformedFeed, FeedFailure, ValueError),
        (StoreUnavailable, CrosspostError, Exception),
    ],
)
def test_each_error_sits_in_its_branch(error: type, branch: type, builtin: type) -> None:
    assert issubclass(error, branch) and issubclass(error, builtin)
    assert issubclass(branch, CrosspostError)
