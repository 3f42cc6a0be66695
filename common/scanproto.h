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
 * The protocol between berthd and berth-scand, the image scanner, over
 * their socketpair: the frames of proto.h (header, bounded payload, at
 * most one descriptor), with message types of their own.  berthd sends
 * an image's layers as read-only descriptors, one MSG_SCAN_LAYER each,
 * then MSG_SCAN_RUN with the same request id; scand answers with one
 * MSG_SCAN_RESULT whose descriptor (a memfd) holds the
 * packages and findings as records:
 *
 *	record	= u32 kind, u32 nfields, nfields * (u32 length, bytes)
 *
 * little-endian (buf.h's encoding), each field at most SCAN_FIELD_BYTES_MAX bytes of UTF-8
 * with no NUL and no control character (tab and newline allowed in a
 * description), and exactly the number of fields its kind has.  The
 * sandboxed child that reads the layers reports its inventory to scand
 * in the same records, and scand checks them as strictly as berthd does:
 * neither trusts bytes that came out of an image.
 */
#ifndef BERTH_SCANPROTO_H
#define BERTH_SCANPROTO_H

#include <stdint.h>

#define SCAN_PROTOCOL_VERSION	2

/* scand's end of the socketpair, as it is exec'd. */
#define SCAND_SOCKET_FD		3
/* scand's exit status for bad arguments or an unreadable database. */
#define SCAND_EXIT_CONFIG	2

/* Layers of one image at most (Docker's limit is 127). */
#define SCAN_LAYERS_MAX		128
#define SCAN_DESCRIPTION_MAX	256
#define SCAN_FIELD_BYTES_MAX	65536
#define SCAN_RECORD_FIELDS_MAX	12

enum scan_msg_type {
	MSG_SCAN_HELLO = 1,	/* s->d, id 0: struct msg_scan_hello */
	MSG_SCAN_ERROR,		/* reply: struct msg_scan_error */
	MSG_SCAN_LAYER,		/* d->s: struct msg_scan_layer + fd; no reply */
	MSG_SCAN_RUN,		/* d->s: struct msg_scan_run */
	MSG_SCAN_RESULT,	/* reply: struct msg_scan_result + memfd */
	MSG_SCAN_DB_RELOAD,	/* d->s: no payload */
	MSG_SCAN_DB_STATE,	/* reply to RELOAD, and id 0 after the hello:
				   struct msg_scan_db_state */
	MSG_SCAN__MAX
};

/* How a layer is compressed, from its media type. */
enum scan_media {
	SCAN_MEDIA_TAR = 1,	/* ...layer.v1.tar */
	SCAN_MEDIA_TAR_GZIP,	/* ...layer.v1.tar+gzip, Docker's tar.gzip */
	SCAN_MEDIA_TAR_ZSTD,	/* ...layer.v1.tar+zstd */
	SCAN_MEDIA__MAX
};

/* A scan's outcome, as ECR's ScanStatus names them. */
enum scan_status {
	SCAN_STATUS_COMPLETE = 1,
	SCAN_STATUS_FAILED,
	SCAN_STATUS_UNSUPPORTED,	/* UNSUPPORTED_IMAGE */
	SCAN_STATUS__MAX
};

/* ECR's FindingSeverity values, in this order. */
enum scan_severity {
	SCAN_SEV_INFORMATIONAL = 0,
	SCAN_SEV_LOW,
	SCAN_SEV_MEDIUM,
	SCAN_SEV_HIGH,
	SCAN_SEV_CRITICAL,
	SCAN_SEV_UNDEFINED,
	SCAN_SEV__MAX
};

enum scan_record_kind {
	SCAN_REC_OS = 1,	/* id, version_id, pretty_name */
	SCAN_REC_PACKAGE,	/* ecosystem, name, version, source,
				   source_version, arch ("" when absent) */
	SCAN_REC_FINDING,	/* id, name, description, uri, severity,
				   package_name, package_version,
				   fixed_version, cvss_vector, cvss_score,
				   ecosystem */
	SCAN_REC__MAX
};
#define SCAN_REC_OS_FIELDS	3
#define SCAN_REC_PACKAGE_FIELDS	6
#define SCAN_REC_FINDING_FIELDS	11

struct msg_scan_hello {
	uint32_t	version;	/* SCAN_PROTOCOL_VERSION */
	uint32_t	pid;
};

struct msg_scan_error {
	int32_t		code;		/* enum berr */
	uint32_t	pad;
};

/*
 * The layer is size bytes at offset in the descriptor: a blob file of its
 * own (offset 0), or a small blob inside blobd's pack (at most
 * SCAN_LAYER_SEGMENT_MAX bytes), which scand copies out before a scan
 * reads it.
 */
struct msg_scan_layer {
	uint32_t	index;		/* 0 for the lowest layer */
	uint32_t	media;		/* enum scan_media */
	uint64_t	offset;
	uint64_t	size;		/* the blob's size, as stored */
};
#define SCAN_LAYER_SEGMENT_MAX	(16 * 1024 * 1024)

struct msg_scan_run {
	uint32_t	nlayers;	/* MSG_SCAN_LAYERs sent with this id */
	uint32_t	pad;
};

struct msg_scan_result {
	uint32_t	status;		/* enum scan_status */
	uint32_t	npackages;
	uint32_t	nfindings;
	uint32_t	counts[SCAN_SEV__MAX];	/* findings per severity */
	uint32_t	elapsed_ms;	/* wall clock, layers in to result */
	uint32_t	cpu_ms;		/* the scan process's CPU time */
	uint32_t	pad;
	int64_t		db_updated_at;	/* epoch seconds; 0: no database */
	uint64_t	db_generation;	/* bumped by every load */
	uint64_t	layer_bytes;	/* compressed bytes read */
	uint64_t	unpacked_bytes;
	char		description[SCAN_DESCRIPTION_MAX];
};

struct msg_scan_db_state {
	uint64_t	advisories;
	uint64_t	skipped;	/* files that were not OSV */
	uint64_t	generation;
	int64_t		updated_at;
	int32_t		loaded;		/* 0: no database, or the load failed */
	uint32_t	load_ms;	/* the last load's time */
};

#endif
