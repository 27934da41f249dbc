"""analysis/sdk_models.py reads botocore's and boto3's model files itself: it must read what their loader does."""

from __future__ import annotations

import os
import sys

import botocore.loaders
import pytest

from lambdasec.analysis import sdk_models

SERVICES = ("s3", "sqs", "dynamodb", "lambda", "ec2", "iam", "sns", "kinesis", "stepfunctions", "cloudwatch")


@pytest.fixture(scope="module")
def loader() -> botocore.loaders.Loader:
    import boto3

    found = botocore.loaders.create_loader()
    found.search_paths[:] = [path for path in found.search_paths if "botocore" in path]  # not ~/.aws/models
    found.search_paths.append(os.path.join(os.path.dirname(boto3.__file__), "data"))
    return found


def test_the_same_services_as_botocore(loader: botocore.loaders.Loader) -> None:
    assert sdk_models.service_names() == frozenset(loader.list_available_services("service-2"))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["service-2", "waiters-2", "resources-1"])
def test_the_same_models_as_botocore_with_their_extras(loader: botocore.loaders.Loader, service: str,
                                                       kind: str) -> None:
    try:
        expected = loader.load_service_model(service, kind)
    except botocore.exceptions.DataNotFoundError:
        expected = None
    assert sdk_models._model(service, kind) == expected


def test_reading_models_imports_neither_boto3_nor_botocores_http_stack() -> None:
    """Reading the models in a fresh interpreter must not import boto3 (0.4 s) or botocore's loader (0.2 s)."""
    import subprocess

    code = ("import sys; from lambdasec.analysis import sdk_models; sdk_models.operations('s3'); "
            "print(sorted(m for m in ('boto3', 'botocore.loaders', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
