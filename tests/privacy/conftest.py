"""The consent fixtures (template versions) serve the privacy tests too."""

from tests.consent.conftest import *  # noqa: F403
