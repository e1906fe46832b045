"""us-east-1 on-demand list prices (USD) and the usage the cost estimate assumes.

Prices are AWS's published list prices for us-east-1; update them here when
AWS changes them. The usage figures are assumptions, and every item the
estimate prices with one says so in its report line.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730
KMS_KEY_MONTH = 1.00
S3_STANDARD_GB_MONTH = 0.023
ALARM_METRIC_MONTH = 0.10
ALARM_HIGH_RESOLUTION_MONTH = 0.30
COMPOSITE_ALARM_MONTH = 0.50
DASHBOARD_MONTH = 3.00
CUSTOM_METRIC_MONTH = 0.30
LOGS_INGESTED_GB = 0.50
LOGS_STORED_GB_MONTH = 0.03
SERVERLESS_GB_SECOND = 0.00002
FEATURE_STORE_WRITE_MILLION = 1.25
FEATURE_STORE_READ_MILLION = 0.25
FEATURE_STORE_GB_MONTH = 0.45
ECR_GB_MONTH = 0.10
SNS_PUBLISH_MILLION = 0.50
SQS_REQUEST_MILLION = 0.40
SNS_EMAIL_100K = 2.00  # email notifications, per 100,000
SNS_HTTPS_MILLION = 0.60  # HTTP/S notifications, per million
BUDGET_DAY = 0.02  # each budget beyond the account's first two
DAYS_PER_MONTH = 30.4
LAMBDA_REQUEST_MILLION = 0.20
LAMBDA_GB_SECOND = 0.0000166667
# SageMaker hosting / processing / training, USD per instance-hour.
INSTANCE_HOUR: dict[str, float] = {
    "ml.t2.medium": 0.056,
    "ml.t2.large": 0.111,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.r5.large": 0.151,
    "ml.r5.xlarge": 0.302,
    "ml.g4dn.xlarge": 0.7364,
}
# Assumed usage, stated in the report.
BUCKET_GB = {"data": 100, "artifacts": 10, "monitoring": 25, "access-logs": 5}
DEFAULT_BUCKET_GB = 10
SERVERLESS_SECONDS = 100_000 * 0.2  # 100k invocations a month at 200 ms
FEATURE_STORE_MILLIONS = (1.0, 1.0)  # writes, reads per month
FEATURE_STORE_ONLINE_GB = 1
LOG_GROUP_GB = 5
ECR_GB = 2  # the project image's repository: kept images, shared layers
# Instance-minutes a run bills: a training run on new data (Dataset, Validate, Features, Train,
# Evaluate, Champion), one on unchanged data (the step cache serves all but Dataset and
# Champion), the monitoring pipeline (three short jobs: drift, quality, feedback), other.
JOB_MINUTES = {"pipeline": 20, "cache hit": 6, "monitoring": 15, "other": 5}
ALARM_STARTED_RUNS = 4  # drift or quality episodes a month that start a retraining
SNS_PUBLISHES = 10_000
SQS_REQUESTS = 100_000
DEAD_LETTER_REQUESTS = 1_000  # failed deliveries and reading them: normally none
GATE_INVOCATIONS = 1_000  # alarm state changes reaching the retrain gate a month, storms included
GATE_SECONDS = 2.0  # one conditional DynamoDB write and at most one start
SUBSCRIPTION_DELIVERIES = 1_000  # alarm and event messages to each subscriber a month
