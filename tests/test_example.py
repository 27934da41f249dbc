"""The bundled example: exactly the planted weaknesses are found, the clean functions stay clean."""

from __future__ import annotations

from collections import Counter

import lambdasec

from .conftest import FIXTURE_CLOCK, REPO

EXPECTED = Counter({
    ("EXP001", "WebhookFunctionUrl"): 1,
    ("EXP002", "WebhookFunctionUrl"): 1,
    ("EXP003", "WebhookFunctionURLInvokeAllowPublicAccess"): 1,
    ("EXP003", "WebhookFunctionUrlPublicPermissions"): 1,
    ("EXP003", "ReportExportPartnerInvokePermission"): 1,
    ("EXP004", "ThumbnailerS3InvokePermission"): 1,
    ("EXP008", "ServerlessRestApi GET /orders/{orderId}"): 1,
    ("EXP008", "ServerlessRestApi POST /orders"): 1,
    ("IAM001", "ThumbnailerRole"): 1,
    ("IAM002", "ReportExportFunctionRole"): 1,
    ("IAM003", "ReportExportFunctionRole"): 1,
    ("IAM004", "ReportExportFunctionRole"): 1,
    ("IAM011", "ReportExportFunctionRole"): 1,
    ("IAM012", "ReportExportFunctionRole"): 1,
    # Its code writes one bucket and scans one table; the role grants every S3 action, Glue, Athena, PassRole.
    ("IAM017", "ReportExportFunctionRole"): 1,
    # Reachable from outside (a public permission, an S3 permission without source) with a powerful role.
    ("IAM016", "ReportExportFunction"): 1,
    ("IAM016", "ThumbnailerFunction"): 1,
    ("SEC001", "WebhookFunction"): 5,
    ("SEC002", "ReportExportFunction"): 1,
    ("SEC003", "ReportExportFunction"): 1,  # a database password in src/report_export/archive_settings.py
    ("INT008", "SharedDepsLayerc271d50fc1"): 1,  # a vendored file changed after installation
    ("ENC001", "WebhookFunction"): 1,
    ("ENC001", "ApiFunction"): 1,
    ("ENC001", "ReportExportFunction"): 1,
    ("INT001", "WebhookFunction"): 1,
    ("INT001", "ApiFunction"): 1,
    ("INT001", "InvoiceIngestFunction"): 1,
    ("INT001", "ReportExportFunction"): 1,
    ("INT004", "ReportExportFunction"): 1,
    ("INT005", "ThumbnailerFunction"): 1,
    ("INT006", "ThumbnailerFunction"): 1,
    ("INT007", "ReportExportFunction"): 1,
    ("RUN001", "ReportExportFunction"): 1,
    ("RUN002", "ApiFunction"): 1,
    ("NET001", "WebhookFunction"): 1,
    ("NET001", "ApiFunction"): 1,
    ("NET001", "InvoiceIngestFunction"): 1,
    ("NET001", "ReportExportFunction"): 1,
    ("NET001", "ThumbnailerFunction"): 1,
    ("OBS001", "WebhookFunction"): 1,
    ("OBS001", "ReportExportFunction"): 1,
    ("OBS002", "WebhookLogGroup"): 1,
    ("OBS003", "AuditTrail"): 1,
    ("RES001", "InvoiceIngestFunction"): 1,
    ("RES001", "ThumbnailerFunction"): 1,
    ("RES002", "WebhookFunction"): 1,
    ("RES002", "ApiFunction"): 1,
    ("RES002", "InvoiceIngestFunction"): 1,
    ("RES002", "ReportExportFunction"): 1,
    ("RES002", "ThumbnailerFunction"): 1,
})


def test_example_findings_are_exactly_the_planted_ones() -> None:
    report = lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=FIXTURE_CLOCK)
    assert report.coverage_gaps == []
    # IAM017 reads each function's code: the thumbnailer ships as a container image, which a static scan cannot read.
    # SEC003 says which vendored files it left unread (the layer's unmodified distribution files).
    assert [(n.rule_id, n.resource_id) for n in report.not_evaluated] == [
        ("IAM017", "ThumbnailerRole"), ("SEC003", "SharedDepsLayerc271d50fc1")]
    assert Counter((f.rule_id, f.resource_id) for f in report.findings) == EXPECTED
    clean = {"OrdersProcessorFunction", "PaymentsReconcilerFunction"}
    assert [f for f in report.findings if clean & set(f.functions)] == []
    assert report.affected_function_count == 5  # findings located in code count their function once
    # Findings about code point at the code itself: the secret's line, the tampered file.
    in_code = {(f.rule_id, f.location.file, f.location.line) for f in report.findings
               if f.rule_id in ("SEC003", "INT008")}
    assert in_code == {("SEC003", "src/report_export/archive_settings.py", 7),
                       ("INT008", "layers/shared-deps/python/csvkit_lite/__init__.py", 1)}
    assert all(f.location.file == "template.yaml" and f.location.line for f in report.findings
               if f.rule_id not in ("SEC003", "INT008"))
