"""Which sample a QC test is measured on (2-cyclotron 1.4: a test result names its sample).

Sterility and bacterial endotoxins have their own samples (aseptically drawn, pyrogen-free
containers); every other release test is measured on the release-testing sample. Retention samples
are kept for a retest and are never the default. A result's sample is chosen for the analyst when
exactly one sample of its type was recorded; with several, the analyst names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

OWN_SAMPLE = {"STERILITY": "STERILITY", "ENDOTOXIN": "ENDOTOXIN"}
DEFAULT_TYPE = "RELEASE_TESTING"


class SampleLike(Protocol):
    id: int
    sample_type: str


def sample_type_for(test_code: str) -> str:
    return OWN_SAMPLE.get(test_code, DEFAULT_TYPE)


def candidates(test_code: str, samples: Iterable[SampleLike]) -> list[SampleLike]:
    """The recorded samples a result of `test_code` may be measured on (retention samples too, when named)."""
    wanted = sample_type_for(test_code)
    return [s for s in samples if s.sample_type == wanted]


def suitable(test_code: str, sample_type: str) -> bool:
    """A named sample must be of the test's type, or a retention sample (a retest on the kept vial)."""
    return sample_type in (sample_type_for(test_code), "RETENTION")


def automatic(test_code: str, samples: Iterable[SampleLike]) -> int | None:
    """The sample chosen without asking: the only one of the test's type, else None."""
    found = candidates(test_code, samples)
    return found[0].id if len(found) == 1 else None
