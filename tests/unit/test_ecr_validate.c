/*
 * Copyright (c) 2026 The berth authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHORS DISCLAIM ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The ECR model tables (generated from botocore) and the validator: every
 * pattern of the model translates to a POSIX ERE that behaves as the
 * model's Java pattern does, and requests are refused with AWS's words.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "unit.h"
#include "util.h"

static int
shape_index(const char *name)
{
	size_t	 i;

	for (i = 0; i < ecr_nshapes; i++)
		if (strcmp(ecr_shapes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
test_tables(void)
{
	static const char *const paginated[] = { "DescribeImageScanFindings",
	    "DescribeImages", "DescribePullThroughCacheRules",
	    "DescribeRepositories", "DescribeRepositoryCreationTemplates",
	    "GetLifecyclePolicyPreview", "ListImages" };
	const struct ecr_operation *op;
	size_t	 i, n = 0;

	CU_ASSERT_EQUAL(ecr_noperations, 58);
	CU_ASSERT_STRING_EQUAL(ecr_model_target_prefix,
	    "AmazonEC2ContainerRegistry_V20150921");
	for (i = 1; i < ecr_noperations; i++)
		CU_ASSERT(strcmp(ecr_operations[i - 1].name,
		    ecr_operations[i].name) < 0);
	for (i = 0; i < ecr_noperations; i++) {
		op = &ecr_operations[i];
		CU_ASSERT_PTR_EQUAL(ecr_operation_find(op->name,
		    strlen(op->name)), op);
		CU_ASSERT(op->input >= 0 && (size_t)op->input < ecr_nshapes);
		CU_ASSERT(op->body_max >= 1024 * 1024);
		if (op->paginated == 2)
			n++;
	}
	CU_ASSERT_EQUAL(n, nitems(paginated));
	for (i = 0; i < nitems(paginated); i++) {
		op = ecr_operation_find(paginated[i], strlen(paginated[i]));
		CU_ASSERT_PTR_NOT_NULL_FATAL(op);
		CU_ASSERT_EQUAL(op->paginated, 2);
	}
	CU_ASSERT_PTR_NULL(ecr_operation_find("Nope", 4));
	CU_ASSERT_PTR_NULL(ecr_operation_find("ListImagesX", 11));
	CU_ASSERT_PTR_NOT_NULL(ecr_operation_find("ListImagesX", 10));

	op = ecr_operation_find("DescribeRepositories", 20);
	CU_ASSERT_EQUAL(op->page_default, 100);
	CU_ASSERT_EQUAL(op->page_max, 1000);
	CU_ASSERT_EQUAL(op->validation_exception, 0);
	op = ecr_operation_find("ListImageReferrers", 18);
	CU_ASSERT_EQUAL(op->paginated, 1);
	CU_ASSERT_EQUAL(op->page_default, 20);
	CU_ASSERT_EQUAL(op->page_max, 50);
	op = ecr_operation_find("GetLifecyclePolicyPreview", 25);
	CU_ASSERT_EQUAL(op->page_max, 100);
	/* 20 MiB of part in base64, and then some. */
	op = ecr_operation_find("UploadLayerPart", 15);
	CU_ASSERT(op->body_max > 20971520 / 3 * 4);
	CU_ASSERT(op->body_max < 32 * 1024 * 1024);
	op = ecr_operation_find("PutImage", 8);
	CU_ASSERT(op->body_max > 4 * 1024 * 1024);
	op = ecr_operation_find("PutImageScanningConfiguration", 29);
	CU_ASSERT_EQUAL(op->validation_exception, 1);
}

static void
test_translate(void)
{
	static const struct {
		const char *java, *ere;
	} cases[] = {
		{ "[0-9]{12}", "^([0-9]{12})$" },
		{ "(?:a|b)", "^((a|b))$" },
		{ "^\\S+$", "^(^[^[:space:]]+$)$" },
		{ "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+",
		    "^([+.0-9A-Z_a-z-]+:[0-9A-Fa-f]+)$" },
		{ "[._\\-/a-z0-9*]", "^([*./0-9_a-z-])$" },
		{ "ecr\\-x\\/y", "^(ecr-x/y)$" },
		{ "a\\.b", "^(a\\.b)$" },
		{ "[\\w+=,.@-]", "^([+,.0-9=@A-Z_a-z-])$" },
	};
	regex_t	 re;
	char	*ere;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		ere = ecr_pattern_to_ere(cases[i].java);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ere);
		if (strcmp(ere, cases[i].ere) != 0)
			fprintf(stderr, "\n%s -> %s (want %s)\n", cases[i].java,
			    ere, cases[i].ere);
		CU_ASSERT_STRING_EQUAL(ere, cases[i].ere);
		free(ere);
	}
	/* \\S (Base64, an output shape) as a bracket ERE understands. */
	ere = ecr_pattern_to_ere("^\\S+$");
	CU_ASSERT_EQUAL_FATAL(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB), 0);
	CU_ASSERT_EQUAL(regexec(&re, "YWJj+/=", 0, NULL, 0), 0);
	CU_ASSERT_NOT_EQUAL(regexec(&re, "YW Jj", 0, NULL, 0), 0);
	CU_ASSERT_NOT_EQUAL(regexec(&re, "YWJj\n", 0, NULL, 0), 0);
	CU_ASSERT_NOT_EQUAL(regexec(&re, "", 0, NULL, 0), 0);
	regfree(&re);
	free(ere);
	CU_ASSERT_PTR_NULL(ecr_pattern_to_ere("(?=a)"));
	CU_ASSERT_PTR_NULL(ecr_pattern_to_ere("\\p{L}"));
	CU_ASSERT_PTR_NULL(ecr_pattern_to_ere("[a"));
}

/* Every pattern of the model compiles, and behaves like the Java one. */
static void
test_patterns(void)
{
	static const struct {
		const char *shape, *value;
		int match;
	} cases[] = {
		{ "RepositoryName", "ab", 1 },
		{ "RepositoryName", "team/app", 1 },
		{ "RepositoryName", "a__b/c--d.e_f", 1 },
		{ "RepositoryName", "a___b", 0 },
		{ "RepositoryName", "Team/app", 0 },
		{ "RepositoryName", "team//app", 0 },
		{ "RepositoryName", "/team", 0 },
		{ "RepositoryName", "team/", 0 },
		{ "RepositoryName", "a.-b", 0 },
		{ "RepositoryName", "x team", 0 },
		{ "RegistryId", "123456789012", 1 },
		{ "RegistryId", "12345678901", 0 },
		{ "RegistryId", "1234567890123", 0 },
		{ "RegistryId", "12345678901a", 0 },
		{ "UploadId", "0f3e4d5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 1 },
		{ "UploadId", "0F3E4D5C-1A2B-4C3D-8E9F-0A1B2C3D4E5F", 1 },
		{ "UploadId", "0f3e4d5c1a2b4c3d8e9f0a1b2c3d4e5f", 0 },
		{ "LayerDigest", "sha256:0123abcdef", 1 },
		{ "LayerDigest", "sha256+b64u.x-y_z:ABCDEF", 1 },
		{ "LayerDigest", "sha256:xyz", 0 },
		{ "LayerDigest", "sha256", 0 },
		{ "LayerDigest", ":abc", 0 },
		{ "ImageTagMutabilityExclusionFilterValue", "release-*", 1 },
		{ "ImageTagMutabilityExclusionFilterValue", "v1.*_x", 1 },
		{ "ImageTagMutabilityExclusionFilterValue", "a/b", 0 },
		{ "ImageTagMutabilityExclusionFilterValue", "", 0 },
		{ "Region", "us-east-1", 1 },
		{ "Region", "US-EAST-1", 0 },
		{ "Prefix", "ROOT", 1 },
		{ "Prefix", "team/", 1 },
		{ "Prefix", "team//", 0 },
		{ "PullThroughCacheRuleRepositoryPrefix", "docker-hub", 1 },
		{ "PrincipalArn", "arn:aws:iam::123456789012:role/ci-role", 1 },
		{ "PrincipalArn", "arn:aws-cn:iam::123456789012:user/a/b+c@d",
		    1 },
		{ "PrincipalArn", "arn:aws:iam::12345678901:role/x", 0 },
		{ "CredentialArn", "arn:aws:secretsmanager:us-east-1:"
		    "123456789012:secret:ecr-pullthroughcache/docker-hub-AbC", 1 },
		{ "CredentialArn", "arn:aws:secretsmanager:us-east-1:"
		    "123456789012:secret:other/x", 0 },
		{ "KmsKeyForRepositoryCreationTemplate", "", 1 },
		{ "KmsKeyForRepositoryCreationTemplate", "arn:aws:kms:us-east-1:"
		    "123456789012:key/1234abcd-12ab", 1 },
		{ "KmsKeyForRepositoryCreationTemplate", "alias/x", 0 },
		{ "RepositoryFilterValue", "team/", 1 },
		{ "RepositoryFilterValue", "Team", 0 },
		{ "ScanningRepositoryFilterValue", "prod-*", 1 },
		{ "ScanningRepositoryFilterValue", "*", 1 },
		{ "ScanningRepositoryFilterValue", "-x", 0 },
		{ "SigningRepositoryFilterValue", "team/*", 1 },
		{ "SigningProfileArn", "arn:aws:signer:us-east-1:123456789012:"
		    "/signing-profiles/MyProfile", 1 },
		{ "SigningProfileArn", "arn:aws:signer:us-east-1:123456789012:"
		    "/signing-profiles/M", 0 },
	};
	size_t	 i, n = 0;
	int	 idx;

	CU_ASSERT_EQUAL_FATAL(ecr_validate_init(), 0);
	for (i = 0; i < ecr_nshapes; i++)
		if (ecr_shapes[i].pattern != NULL)
			n++;
	CU_ASSERT(n >= 10);
	for (i = 0; i < nitems(cases); i++) {
		idx = shape_index(cases[i].shape);
		CU_ASSERT_FATAL(idx >= 0);
		if (ecr_pattern_match(idx, cases[i].value,
		    strlen(cases[i].value)) != cases[i].match) {
			fprintf(stderr, "\n%s %s: want %d\n", cases[i].shape,
			    cases[i].value, cases[i].match);
			CU_FAIL("pattern");
		}
	}
	/* A NUL inside never matches. */
	idx = shape_index("RegistryId");
	CU_ASSERT_EQUAL(ecr_pattern_match(idx, "123456789012\0", 13), 0);
}

static void
test_validate(void)
{
	static const struct {
		const char *op, *json, *exception, *message;
	} cases[] = {
		{ "CreateRepository", "{\"repositoryName\":\"team/app\"}",
		    NULL, NULL },
		{ "CreateRepository", "{\"repositoryName\":\"team/app\","
		    "\"somethingNew\":{\"x\":[1]}}", NULL, NULL },
		{ "CreateRepository", "{}", "InvalidParameterException",
		    "Invalid parameter at 'repositoryName' failed to satisfy "
		    "constraint: 'Member must not be null'" },
		{ "CreateRepository", "{\"repositoryName\":null}",
		    "InvalidParameterException", "'Member must not be null'" },
		{ "CreateRepository", "{\"repositoryName\":\"Bad\"}",
		    "InvalidParameterException", "Invalid parameter at "
		    "'repositoryName' failed to satisfy constraint: 'must "
		    "satisfy regular expression '[a-z0-9]+((\\.|_|__|-+)"
		    "[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*''" },
		{ "CreateRepository", "{\"repositoryName\":\"a\"}",
		    "InvalidParameterException", "Invalid parameter at "
		    "'repositoryName' failed to satisfy constraint: 'Member "
		    "must have length greater than or equal to 2'" },
		{ "CreateRepository", "{\"repositoryName\":\"ab\","
		    "\"imageTagMutability\":\"SOMETIMES\"}",
		    "InvalidParameterException", "Invalid parameter at "
		    "'imageTagMutability' failed to satisfy constraint: 'Member "
		    "must satisfy enum value set: [MUTABLE, IMMUTABLE, "
		    "IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'" },
		{ "CreateRepository", "{\"repositoryName\":\"ab\","
		    "\"tags\":[{\"Key\":\"k\"}]}", "InvalidParameterException",
		    "Invalid parameter at 'tags.1.member.Value' failed to "
		    "satisfy constraint: 'Member must not be null'" },
		{ "CreateRepository", "{\"repositoryName\":\"ab\","
		    "\"encryptionConfiguration\":{\"encryptionType\":\"KMS\","
		    "\"kmsKey\":\"\"}}", "InvalidParameterException",
		    "'encryptionConfiguration.kmsKey' failed" },
		{ "CreateRepository", "{\"repositoryName\":7}",
		    "SerializationException",
		    "NUMBER_VALUE can not be converted to String" },
		{ "CreateRepository", "{\"repositoryName\":{}}",
		    "SerializationException",
		    "Start of structure or map found where not expected." },
		{ "CreateRepository", "[]", "SerializationException", NULL },
		{ "CreateRepository", "{\"repositoryName\":\"ab\","
		    "\"imageScanningConfiguration\":{\"scanOnPush\":\"yes\"}}",
		    "SerializationException",
		    "STRING_VALUE can not be converted to Boolean" },
		{ "DescribeRepositories", "{\"maxResults\":1001}",
		    "InvalidParameterException", "Invalid parameter at "
		    "'maxResults' failed to satisfy constraint: 'Member must "
		    "have value less than or equal to 1000'" },
		{ "DescribeRepositories", "{\"maxResults\":0}",
		    "InvalidParameterException", "'Member must have value "
		    "greater than or equal to 1'" },
		{ "DescribeRepositories", "{\"maxResults\":1.5}",
		    "SerializationException", NULL },
		{ "DescribeRepositories", "{\"maxResults\":99999999999}",
		    "SerializationException", NULL },
		{ "DescribeRepositories", "{\"repositoryNames\":[]}",
		    "InvalidParameterException", "Invalid parameter at "
		    "'repositoryNames' failed to satisfy constraint: 'Member "
		    "must have length greater than or equal to 1'" },
		{ "DescribeRepositories", "{\"repositoryNames\":[\"ok\","
		    "\"NO\"]}", "InvalidParameterException",
		    "Invalid parameter at 'repositoryNames.2.member' failed" },
		{ "DescribeRepositories", "{\"registryId\":\"12\"}",
		    "InvalidParameterException", "must satisfy regular "
		    "expression '[0-9]{12}'" },
		{ "BatchGetImage", "{\"repositoryName\":\"ab\",\"imageIds\":"
		    "[{\"imageTag\":\"\"}]}", "InvalidParameterException",
		    "Invalid parameter at 'imageIds.1.member.imageTag' failed "
		    "to satisfy constraint: 'Member must have length greater "
		    "than or equal to 1'" },
		{ "UploadLayerPart", "{\"repositoryName\":\"ab\",\"uploadId\":"
		    "\"0f3e4d5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f\",\"partFirstByte\":"
		    "-1,\"partLastByte\":0,\"layerPartBlob\":\"YQ==\"}",
		    "InvalidParameterException", "'partFirstByte'" },
		/* The newer operations: ValidationException, all counted. */
		{ "PutImageScanningConfiguration", "{\"repositoryName\":\"A\","
		    "\"imageScanningConfiguration\":{}}", "ValidationException",
		    "2 validation errors detected: Value 'A' at "
		    "'repositoryName' failed to satisfy constraint: Member must "
		    "have length greater than or equal to 2; Value 'A' at "
		    "'repositoryName' failed to satisfy constraint: Member must "
		    "satisfy regular expression pattern: " },
		{ "PutImageScanningConfiguration", "{}", "ValidationException",
		    "2 validation errors detected: Value null at "
		    "'repositoryName' failed to satisfy constraint: Member must "
		    "not be null; Value null at 'imageScanningConfiguration' "
		    "failed to satisfy constraint: Member must not be null" },
		{ "DescribeRegistry", "{}", NULL, NULL },
		{ "GetAccountSetting", "{\"name\":\"\"}", "ValidationException",
		    "1 validation error detected: Value '' at 'name' failed to "
		    "satisfy constraint: Member must have length greater than "
		    "or equal to 1" },
	};
	struct json_object *in;
	const struct ecr_operation *op;
	const char	*exc;
	char		 msg[2048];
	size_t		 i;
	int		 rc;

	for (i = 0; i < nitems(cases); i++) {
		op = ecr_operation_find(cases[i].op, strlen(cases[i].op));
		CU_ASSERT_PTR_NOT_NULL_FATAL(op);
		in = json_parse_strict(cases[i].json, strlen(cases[i].json),
		    32);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		exc = NULL;
		rc = ecr_validate(op, in, &exc, msg, sizeof(msg));
		json_object_put(in);
		/* -1 exactly when there is an exception to answer. */
		CU_ASSERT_EQUAL(rc == -1, exc != NULL);
		if (cases[i].exception == NULL) {
			if (exc != NULL)
				fprintf(stderr, "\ncase %zu: %s: %s\n", i, exc,
				    msg);
			CU_ASSERT_PTR_NULL(exc);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL(exc);
		if (exc == NULL)
			continue;
		if (strcmp(exc, cases[i].exception) != 0 ||
		    (cases[i].message != NULL &&
		    strstr(msg, cases[i].message) == NULL)) {
			fprintf(stderr, "\ncase %zu: got %s: %s\n", i, exc, msg);
			CU_FAIL("validation answer");
		}
	}
}

int
test_ecr_validate_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("ecr_validate", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "model tables", test_tables) == NULL ||
	    CU_add_test(s, "pattern translation", test_translate) == NULL ||
	    CU_add_test(s, "model patterns", test_patterns) == NULL ||
	    CU_add_test(s, "validation answers", test_validate) == NULL)
		return -1;
	return 0;
}
