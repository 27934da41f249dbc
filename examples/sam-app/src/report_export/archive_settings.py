"""Where the nightly export keeps a copy of each CSV for seven years (finance's retention rule).

Written in a hurry during the audit of 2024: the connection string, password included, was pasted here instead
of being read from Secrets Manager. lambdasec reports it (SEC003); the fix is in the example's README.
"""

ARCHIVE_DSN = "postgresql://reports_archiver:Vq7Lr2Xw9TzK4mPb@reports-archive.internal:5432/reports"
RETENTION_DAYS = 7 * 365
