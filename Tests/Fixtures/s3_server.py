"""A real S3-compatible server for the tests: moto's server on 127.0.0.1, with signature
checking on. It creates a bucket and an IAM user allowed to use it, prints one JSON line with
the port, bucket and credentials, and runs until its stdin closes (the test's lifeline).

Run by Tests/EaselServerTests/S3Tests.swift with the Python that scripts/test prepares."""
import json
import os
import sys

# The first actions (setting up the user and bucket) run unauthenticated; every request after
# them must carry a valid SigV4 signature from a known access key.
SETUP_ACTIONS = 5
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_ACTIONS)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "setup")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "setup")

import datetime  # noqa: E402
from urllib.parse import parse_qsl, urlsplit  # noqa: E402

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.s3.exceptions import S3SignatureDoesNotMatchError  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

SECRETS = {}  # access key id -> secret, of the keys this script hands out


def presigned_signature_is_valid(method, url, host):
    """Recomputes a presigned URL's signature with botocore (the AWS SDK's own SigV4) at the
    URL's own timestamp, and checks it has not expired."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    access_key, _date, region, _service, _ = query["X-Amz-Credential"].split("/")
    signed_at = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    expires = int(query["X-Amz-Expires"])
    if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
        return False
    if access_key not in SECRETS:
        return False
    unsigned = f"{parts.scheme}://{host}{parts.path}"
    request = AWSRequest(method=method, url=unsigned, headers={"host": host})
    auth = botocore.auth.S3SigV4QueryAuth(Credentials(access_key, SECRETS[access_key]), "s3", region, expires=expires)
    original_now = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: signed_at
    try:
        auth.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original_now
    expected = dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"]
    return expected == query["X-Amz-Signature"]


# moto's signature checks only read the Authorization header (a presigned URL makes it fail with
# a 500): check query-string signatures here, the rest as moto does.
_moto_check = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action


def _check(self, bucket_name=None, key_name=None):
    if "X-Amz-Signature" in self.querystring:
        if not presigned_signature_is_valid(self.method, self.uri, self.headers["host"]):
            raise S3SignatureDoesNotMatchError()
        return
    _moto_check(self, bucket_name, key_name)


ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _check

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"
region = "eu-west-1"
bucket = "easel-artifacts"

iam = boto3.client("iam", endpoint_url=endpoint, region_name=region)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
iam.create_user(UserName="easel")
policy = iam.create_policy(
    PolicyName="easel-artifacts",
    PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }),
)
iam.attach_user_policy(UserName="easel", PolicyArn=policy["Policy"]["Arn"])
key = iam.create_access_key(UserName="easel")["AccessKey"]
SECRETS[key["AccessKeyId"]] = key["SecretAccessKey"]

print(json.dumps({
    "endpoint": endpoint,
    "region": region,
    "bucket": bucket,
    "access_key_id": key["AccessKeyId"],
    "secret_access_key": key["SecretAccessKey"],
}), flush=True)
sys.stdin.read()
server.stop()
