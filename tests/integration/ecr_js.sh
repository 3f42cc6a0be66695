#!/usr/bin/env bash
# The ECR API driven by the AWS SDK for JavaScript v3 (@aws-sdk/client-ecr,
# installed from npm into tests/integration/ecr_js at test time), with
# node's built-in test runner (ecr.test.mjs, scan.test.mjs).  BERTHD and
# BLOBD name the binaries.
set -eu
cd "$(dirname "$0")/ecr_js"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node --test
