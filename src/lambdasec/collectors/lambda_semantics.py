"""Facts about how AWS services invoke Lambda, shared by every collector."""

# Service principals whose invocations are asynchronous (the caller does not wait for the result).
ASYNC_SERVICE_PRINCIPALS = {
    "s3.amazonaws.com": "s3",
    "sns.amazonaws.com": "sns",
    "events.amazonaws.com": "events",
    "scheduler.amazonaws.com": "events",
    "logs.amazonaws.com": "logs",
    "iot.amazonaws.com": "iot",
    "ses.amazonaws.com": "ses",
    "config.amazonaws.com": "config",
    "codecommit.amazonaws.com": "codecommit",
    "cloudformation.amazonaws.com": "cloudformation",
}
