from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "src" / "lambdasec" / "rules" / "fixtures"
# Every rule test uses the same injected clock.
FIXTURE_CLOCK = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)


def zip_bytes(entries: Mapping[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of ``entries`` (name -> content), built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def clock() -> dt.datetime:
    return FIXTURE_CLOCK


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI caches SAM translations under the user's cache directory: never the real one in tests."""
    monkeypatch.setenv("LAMBDASEC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


# The smallest function template, and the same with a public URL (the tests of commands scan these).
ONE_FUNCTION = """\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/fn
      Code: {ZipFile: "def handler(e, c): return 1"}
"""
URL_RESOURCE = """\
  Url:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !GetAtt Fn.Arn
      AuthType: NONE
"""
PUBLIC_URL = ONE_FUNCTION + URL_RESOURCE
