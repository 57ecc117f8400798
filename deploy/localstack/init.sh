#!/bin/sh
# Wires a local site: bucket -> notification -> queue (LocalStack), a CloudFront
# distribution (moto), and writes the watcher's config.toml for them.
# Idempotent: a second run finds what exists and writes the same config.
#
# Runs as the `init` service of compose.yaml, or on a host with the aws CLI:
#   AWS_ENDPOINT_URL_S3=http://127.0.0.1:4566 AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566 \
#   AWS_ENDPOINT_URL_CLOUDFRONT=http://127.0.0.1:5000 CONFIG_OUT=./local.toml deploy/localstack/init.sh
# Endpoints come from the standard AWS_ENDPOINT_URL_* variables.
set -eu

bucket="${SITE_BUCKET:-my-site-bucket}"
queue="${QUEUE_NAME:-site-changes}"
reference="${DISTRIBUTION_REFERENCE:-cloudfront-watcher-local}"
config_out="${CONFIG_OUT:-/shared/config.toml}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_PAGER=""

say() { echo "init: $*" >&2; }

# aws SERVICE ...: with the endpoint of AWS_ENDPOINT_URL_<SERVICE> (or AWS_ENDPOINT_URL)
# passed explicitly, since not every aws CLI release reads them for every service.
aws_to() {
    service="$1"
    shift
    endpoint="$(printenv "AWS_ENDPOINT_URL_$(echo "$service" | tr '[:lower:]' '[:upper:]')" \
        || printenv AWS_ENDPOINT_URL || true)"
    api="$service"
    [ "$service" = s3 ] && api=s3api
    aws "$api" ${endpoint:+--endpoint-url "$endpoint"} "$@"
}

# Bucket (an existing one of ours is fine).
if aws_to s3 head-bucket --bucket "$bucket" > /dev/null 2>&1; then
    say "bucket $bucket exists"
else
    aws_to s3 create-bucket --bucket "$bucket" > /dev/null
    say "bucket $bucket created"
fi

# Queue: create-queue is idempotent for identical attributes.
queue_url="$(aws_to sqs create-queue --queue-name "$queue" --query QueueUrl --output text)"
queue_arn="$(aws_to sqs get-queue-attributes --queue-url "$queue_url" --attribute-names QueueArn \
    --query Attributes.QueueArn --output text)"
say "queue $queue_url ($queue_arn)"

# Notification: every change event of the bucket to the queue. (S3 sends an
# s3:TestEvent to the queue now; the watcher counts it as ignored and deletes it.)
aws_to s3 put-bucket-notification-configuration --bucket "$bucket" \
    --notification-configuration "{\"QueueConfigurations\": [{
        \"Id\": \"cloudfront-watcher\",
        \"QueueArn\": \"$queue_arn\",
        \"Events\": [\"s3:ObjectCreated:*\", \"s3:ObjectRemoved:*\", \"s3:LifecycleExpiration:*\"]
    }]}"
say "notification $bucket -> $queue"

# Distribution: found by its comment, else created.
distribution_id="$(aws_to cloudfront list-distributions \
    --query "DistributionList.Items[?Comment=='$reference'].Id | [0]" --output text)"
if [ -z "$distribution_id" ] || [ "$distribution_id" = "None" ]; then
    distribution_id="$(aws_to cloudfront create-distribution --query Distribution.Id --output text \
        --distribution-config "{
            \"CallerReference\": \"$reference\",
            \"Comment\": \"$reference\",
            \"Enabled\": true,
            \"Origins\": {\"Quantity\": 1, \"Items\": [{
                \"Id\": \"site\",
                \"DomainName\": \"$bucket.s3.$AWS_DEFAULT_REGION.amazonaws.com\",
                \"S3OriginConfig\": {\"OriginAccessIdentity\": \"\"}
            }]},
            \"DefaultCacheBehavior\": {
                \"TargetOriginId\": \"site\",
                \"ViewerProtocolPolicy\": \"redirect-to-https\",
                \"TrustedSigners\": {\"Enabled\": false, \"Quantity\": 0},
                \"ForwardedValues\": {\"QueryString\": false, \"Cookies\": {\"Forward\": \"none\"}},
                \"MinTTL\": 0
            }
        }")"
    say "distribution $distribution_id created"
else
    say "distribution $distribution_id exists"
fi

# The watcher's config for this wiring (endpoints stay in AWS_ENDPOINT_URL_*).
mkdir -p "$(dirname "$config_out")"
cat > "$config_out.tmp" << TOML
# Written by deploy/localstack/init.sh for the local stack.
[watcher]
sources = ["sqs"]
log_format = "console"

[sqs]
queue_url = "$queue_url"
wait_time_seconds = 5
visibility_timeout_seconds = 60

[invalidation]
quiet_period_seconds = 2
max_delay_seconds = 10

[[sites]]
bucket = "$bucket"
distribution_id = "$distribution_id"
TOML
mv "$config_out.tmp" "$config_out"
say "wrote $config_out"
