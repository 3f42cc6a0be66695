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
 * berthd's side of image scanning (issue 13), declared apart from
 * berthd.h, which it builds on: an image's durable scan and its records,
 * the registry's scanning configuration and what it applies to each
 * repository (scanning.c), the scans themselves, from the layers blobd
 * opens to the result recorded (image_scan.c), and the berth-scand
 * process that reads the layers (scanner.c), which the spawner starts.
 * The ECR operations are in ecr_scan.c and ecr_scanning.c.
 */
#ifndef BERTH_IMAGE_SCAN_H
#define BERTH_IMAGE_SCAN_H

#include "berthd.h"
#include "scanproto.h"

/* --- an image's scan (model.c, record.c, txn.c) -------------------------- */

enum image_scan_status {
	IMAGE_SCAN_IN_PROGRESS = 1,
	IMAGE_SCAN_COMPLETE,
	IMAGE_SCAN_FAILED,
	IMAGE_SCAN_UNSUPPORTED,		/* UNSUPPORTED_IMAGE */
	IMAGE_SCAN_ACTIVE,		/* ENHANCED, CONTINUOUS_SCAN */
	IMAGE_SCAN__MAX
};

/* An image's last scan, written whole by REC_SCAN_PUT. */
struct image_scan {
	enum image_scan_status status;
	int		 enhanced;	/* run under the ENHANCED scan type */
	char		*description;
	int64_t		 started_ms;
	int64_t		 completed_ms;	/* 0 while in progress */
	int64_t		 db_updated_ms;	/* the advisories' newest; 0: none */
	uint64_t	 db_generation;	/* scand's database load */
	uint32_t	 counts[SCAN_SEV__MAX];
	uint32_t	 nfindings;
	/* The OS and finding records of scanproto.h, checked. */
	uint8_t		*report;
	size_t		 report_len;
};

/* Replaces the image's scan with take (0). */
int	model_scan_put(struct image *, struct image_scan *take);
void	image_scan_free(struct image_scan *);
void	record_scan_put(struct wbuf *, const struct image *,
	    const struct image_scan *);
/* The image's scan becomes a copy of scan. */
int	txn_scan_put(struct txn *, struct image *, const struct image_scan *);
/* Checks a scan's records (scanproto.h): 0, or -1 when malformed. */
int	image_scan_report_check(const uint8_t *, size_t, uint32_t *nfindings);

/* --- the registry's scanning configuration (scanning.c) ------------------ */

enum scan_frequency {
	SCAN_FREQ_MANUAL = 0,
	SCAN_FREQ_SCAN_ON_PUSH,
	SCAN_FREQ_CONTINUOUS
};

struct scanning_rule {
	enum scan_frequency frequency;
	char		**filters;		/* WILDCARD values */
	size_t		  nfilters;
};

/* PutRegistryScanningConfiguration's, stored as one registry setting. */
struct scanning_config {
	int		 enhanced;
	int		 configured;	/* ever put: the registry decides */
	struct scanning_rule rules[2];
	size_t		 nrules;
};

/* What applies to one repository, and why. */
struct scanning_applied {
	enum scan_frequency frequency;
	int		 scan_on_push;
	int		 enhanced;
	const struct scanning_rule *rule;	/* NULL: none matched */
};

/* ECR's name of a frequency, and back (0, or -1 when unknown). */
const char *scanning_frequency_name(enum scan_frequency);
int	scanning_frequency_parse(const char *, enum scan_frequency *);
/* The registry's configuration (BASIC, no rules when never put). */
void	scanning_config_get(const struct registry *,
	    struct scanning_config *);
void	scanning_config_clear(struct scanning_config *);
/* Its stored form, and back; 0 or -1. */
char	*scanning_config_encode(const struct scanning_config *);
int	scanning_config_decode(const char *, struct scanning_config *);
/* Stores it; the txn's error. */
int	txn_scanning_config(struct txn *, struct registry *,
	    const struct scanning_config *);
/* An ECR scan filter (WILDCARD): no '*' matches names containing it,
 * '*' is zero or more characters of an anchored match. */
int	scanning_filter_matches(const char *filter, const char *name);
/* The configuration that applies to repo (c is the registry's). */
void	scanning_applied(const struct scanning_config *,
	    const struct repository *, struct scanning_applied *);

/* --- scanning images (image_scan.c) -------------------------------------- */

enum image_scan_reason {
	IMAGE_SCAN_MANUAL,		/* StartImageScan */
	IMAGE_SCAN_ON_PUSH,
	IMAGE_SCAN_RESCAN		/* CONTINUOUS_SCAN, new database */
};

/* 1 when the image is one the scanner reads (an image manifest whose
 * layers are tar streams); else 0 and why says what it is. */
int	image_scan_supported(const struct image *, char *why, size_t whysz);
/* Records img's scan as in progress in t and queues the scan, which
 * runs once t is sent and records its result in a transaction of its
 * own.  The txn's error. */
int	image_scan_queue(struct txn *, struct image *, int enhanced,
	    enum image_scan_reason);
/* A new image pushed in t: queues its scan when the configuration that
 * applies to its repository scans on push.  The txn's error. */
int	image_scan_on_push(struct txn *, struct image *);
/* After the metadata is loaded: queues the scans it shows in progress. */
void	image_scan_resume(void);
/* scand loaded a new database: rescans the images of CONTINUOUS_SCAN
 * repositories. */
void	image_scan_db_changed(void);
/* berth-scand said hello: waiting scans start. */
void	image_scan_scanner_ready(void);
/* berth-scand could not be started: the scans waiting fail with why. */
void	image_scan_fail_waiting(const char *why);
/* Scans queued or running. */
size_t	image_scan_pending(void);
/* ECR's name of a status ("COMPLETE"). */
const char *image_scan_status_name(enum image_scan_status);

/* --- the scanner process (scanner.c) ------------------------------------- */

/* Has the spawner start berth-scand a quarter of a second from now, and
 * start it again whenever it exits (with the worker's backoff); scans
 * wait while it is down. */
void	scanner_start(void);
void	scanner_stop(void);
/* Said hello. */
int	scanner_up(void);
pid_t	scanner_pid(void);
uint64_t scanner_restarts(void);
/* The database scand has loaded, as it last said (zeros before). */
const struct msg_scan_db_state *scanner_db(void);
/* SIGHUP: scand reloads --vuln-db; image_scan_db_changed() follows when
 * a new database is loaded. */
void	scanner_reload(void);
/* The spawner's answers, as for the worker. */
void	scanner_started(pid_t, int fd);
void	scanner_failed(int err);
/* 1 if pid was berth-scand's (and is handled), else 0. */
int	scanner_exited(pid_t, int status);
/*
 * One scan: scanner_layer for each layer in order (fd is taken), then
 * scanner_run.  The id comes from scanner_scan_id() while the scanner is
 * up; a call after scand changed answers BERR_UNAVAILABLE at once (and
 * takes fd).  done runs exactly once, never before scanner_run returns,
 * with 0, the result and its records' memfd (the callback's), or an
 * error and NULL, -1.
 */
typedef void (*scanner_result_cb)(int err, const struct msg_scan_result *,
    int fd, void *arg);
uint32_t scanner_scan_id(uint64_t *generation);
int	scanner_layer(uint64_t generation, uint32_t id, uint32_t index,
	    uint32_t media, uint64_t offset, uint64_t size, int fd);
void	scanner_run(uint64_t generation, uint32_t id, uint32_t nlayers,
	    scanner_result_cb done, void *arg);

#endif
