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
 * Scanning images: which images can be scanned, the queue of scans, and
 * each scan's path from the store to the model.  A scan is recorded as
 * in progress in the transaction that asks for it (StartImageScan's, or
 * the push's for a scan on push), so that a client told it started sees
 * it after a restart too (image_scan_resume queues it again).  Then
 * blobd opens each layer read-only, berth-scand reads them in a
 * sandboxed process of its own, and the result (status, counts, the OS
 * and findings records, checked) becomes the image's scan in a
 * transaction of its own.  Rescans after a database reload keep the
 * last result until the new one replaces it.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "buf.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "scan.h"
#include "util.h"

/* Scans whose layers are being sent or read at once. */
#define IMAGE_SCAN_RUNNING_MAX	4
/* Scans waiting at most; more are refused as FAILED, not queued. */
#define IMAGE_SCAN_QUEUE_MAX	10000
/* The records scand may send for one scan. */
#define IMAGE_SCAN_RESULT_MAX	(256u * 1024 * 1024)
/* The records kept for one scan: well under a log entry's limit. */
#define IMAGE_SCAN_KEEP_MAX	(2u * 1024 * 1024)

#define MT_OCI_CONFIG		"application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG	"application/vnd.docker.container.image.v1+json"

struct image_scan_job {
	TAILQ_ENTRY(image_scan_job) entry;
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 repository[NAME_MAX_LEN + 1];
	struct digest	 digest;
	int		 enhanced;
	int		 continuous;
	enum image_scan_reason reason;
	int64_t		 started_ms;
	struct digest	*layers;
	uint32_t	*media;
	uint32_t	 nlayers;
	uint32_t	 next;		/* layers sent */
	int		 running;
	uint32_t	 id;
	uint64_t	 generation;
};
TAILQ_HEAD(image_scan_jobs, image_scan_job);

static struct image_scan_jobs image_scan_queue_head =
    TAILQ_HEAD_INITIALIZER(image_scan_queue_head);
static size_t	 image_scan_njobs, image_scan_nrunning;
static int	 image_scan_pump_scheduled;

static void	image_scan_pump(void);
static void	image_scan_layer_open(struct image_scan_job *);

const char *
image_scan_status_name(enum image_scan_status st)
{
	switch (st) {
	case IMAGE_SCAN_IN_PROGRESS:
		return "IN_PROGRESS";
	case IMAGE_SCAN_COMPLETE:
		return "COMPLETE";
	case IMAGE_SCAN_UNSUPPORTED:
		return "UNSUPPORTED_IMAGE";
	case IMAGE_SCAN_ACTIVE:
		return "ACTIVE";
	case IMAGE_SCAN_FAILED:
	default:
		return "FAILED";
	}
}

size_t
image_scan_pending(void)
{
	return image_scan_njobs;
}

int
image_scan_supported(const struct image *img, char *why, size_t whysz)
{
	const char	*cmt = NULL;
	size_t		 i;

	if (strcmp(img->media_type, MT_OCI_MANIFEST) != 0 &&
	    strcmp(img->media_type, MT_DOCKER_MANIFEST) != 0) {
		snprintf(why, whysz, "%s is not an image manifest",
		    img->media_type);
		return 0;
	}
	for (i = 0; i < img->nrefs; i++)
		if (img->refs[i].kind == REF_CONFIG)
			cmt = img->refs[i].media_type;
	if (cmt == NULL || (strcmp(cmt, MT_OCI_CONFIG) != 0 &&
	    strcmp(cmt, MT_DOCKER_CONFIG) != 0)) {
		snprintf(why, whysz, "the artifact type %s is not a container "
		    "image", cmt != NULL ? cmt : "(none)");
		return 0;
	}
	for (i = 0; i < img->nrefs; i++) {
		if (img->refs[i].kind != REF_LAYER)
			continue;
		if (img->refs[i].media_type == NULL ||
		    scan_media_from_type(img->refs[i].media_type) == 0) {
			snprintf(why, whysz, "the layer media type %s is not "
			    "a tar archive", img->refs[i].media_type != NULL ?
			    img->refs[i].media_type : "(none)");
			return 0;
		}
	}
	return 1;
}

int
image_scan_report_check(const uint8_t *p, size_t len, uint32_t *nfindings)
{
	struct scan_record	 rec;
	size_t			 off = 0;
	int			 rc;

	*nfindings = 0;
	while ((rc = scan_report_next(p, len, &off, &rec)) == 1)
		if (rec.kind == SCAN_REC_FINDING)
			(*nfindings)++;
	return rc == 0 ? 0 : -1;
}

/* --- the queue ----------------------------------------------------------- */

static struct image_scan_job *
image_scan_job_find(const struct image *img)
{
	struct image_scan_job	*j;
	const struct registry	*reg = img->repo->registry;

	TAILQ_FOREACH(j, &image_scan_queue_head, entry)
		if (digest_eq(&j->digest, &img->digest) &&
		    strcmp(j->repository, img->repo->name) == 0 &&
		    strcmp(j->account, reg->account) == 0 &&
		    strcmp(j->region, reg->region) == 0)
			return j;
	return NULL;
}

static void
image_scan_job_free(struct image_scan_job *j)
{
	TAILQ_REMOVE(&image_scan_queue_head, j, entry);
	image_scan_njobs--;
	if (j->running)
		image_scan_nrunning--;
	free(j->layers);
	free(j->media);
	free(j);
	image_scan_pump();
}

static void
image_scan_pump_cb(evutil_socket_t fd, short events, void *arg)
{
	struct image_scan_job	*j, *next;

	image_scan_pump_scheduled = 0;
	if (!scanner_up() || !worker_ready())
		return;
	/* Starting one may end it (its image is gone): next first. */
	for (j = TAILQ_FIRST(&image_scan_queue_head); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (image_scan_nrunning >= IMAGE_SCAN_RUNNING_MAX)
			return;
		if (j->running)
			continue;
		j->running = 1;
		image_scan_nrunning++;
		j->id = scanner_scan_id(&j->generation);
		j->next = 0;
		log_debug("scan %u: %s, %u layers", j->id, j->repository,
		    j->nlayers);
		image_scan_layer_open(j);
	}
}

/* Starts waiting scans from the event loop, never from the caller's
 * stack: a scan starts after the transaction that recorded it is sent. */
static void
image_scan_pump(void)
{
	if (image_scan_pump_scheduled)
		return;
	if (event_base_once(ev_base, -1, EV_TIMEOUT, image_scan_pump_cb,
	    NULL, NULL) == -1)
		fatalx("event_base_once");
	image_scan_pump_scheduled = 1;
}

void
image_scan_scanner_ready(void)
{
	image_scan_pump();
}

/* Queues a scan of img (nothing when one is queued already). */
static struct image_scan_job *
image_scan_job_new(struct image *img, int enhanced,
    enum image_scan_reason reason)
{
	struct image_scan_job	*j;
	struct scanning_config	 c;
	struct scanning_applied	 a;
	size_t			 i;

	if ((j = image_scan_job_find(img)) != NULL)
		return j;
	if (image_scan_njobs >= IMAGE_SCAN_QUEUE_MAX)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	snprintf(j->account, sizeof(j->account), "%s",
	    img->repo->registry->account);
	snprintf(j->region, sizeof(j->region), "%s",
	    img->repo->registry->region);
	snprintf(j->repository, sizeof(j->repository), "%s", img->repo->name);
	j->digest = img->digest;
	j->enhanced = enhanced;
	j->reason = reason;
	j->started_ms = model_now_ms();
	scanning_config_get(img->repo->registry, &c);
	scanning_applied(&c, img->repo, &a);
	j->continuous = enhanced && a.frequency == SCAN_FREQ_CONTINUOUS;
	scanning_config_clear(&c);
	j->layers = xcalloc(img->nrefs + 1, sizeof(*j->layers));
	j->media = xcalloc(img->nrefs + 1, sizeof(*j->media));
	for (i = 0; i < img->nrefs; i++) {
		if (img->refs[i].kind != REF_LAYER)
			continue;
		j->layers[j->nlayers] = img->refs[i].digest;
		j->media[j->nlayers] = img->refs[i].media_type != NULL ?
		    scan_media_from_type(img->refs[i].media_type) : 0;
		j->nlayers++;
	}
	TAILQ_INSERT_TAIL(&image_scan_queue_head, j, entry);
	image_scan_njobs++;
	image_scan_pump();
	return j;
}

int
image_scan_queue(struct txn *t, struct image *img, int enhanced,
    enum image_scan_reason reason)
{
	static char		 none[] = "";
	static char		 full[] = "berth has too many scans waiting; "
				    "start the scan again later.";
	struct image_scan	 sc;
	int			 rc;

	memset(&sc, 0, sizeof(sc));
	sc.status = IMAGE_SCAN_IN_PROGRESS;
	sc.enhanced = enhanced;
	sc.started_ms = model_now_ms();
	sc.description = none;
	if ((rc = txn_scan_put(t, img, &sc)) != 0)
		return rc;
	if (image_scan_job_new(img, enhanced, reason) == NULL) {
		/* The queue is full: the scan is recorded as failed. */
		sc.status = IMAGE_SCAN_FAILED;
		sc.completed_ms = sc.started_ms;
		sc.description = full;
		return txn_scan_put(t, img, &sc);
	}
	return 0;
}

int
image_scan_on_push(struct txn *t, struct image *img)
{
	struct scanning_config	 c;
	struct scanning_applied	 a;
	char			 why[256];
	int			 rc = 0;

	scanning_config_get(img->repo->registry, &c);
	scanning_applied(&c, img->repo, &a);
	if (a.frequency != SCAN_FREQ_MANUAL &&
	    image_scan_supported(img, why, sizeof(why)))
		rc = image_scan_queue(t, img, c.enhanced, IMAGE_SCAN_ON_PUSH);
	scanning_config_clear(&c);
	return rc;
}

void
image_scan_resume(void)
{
	size_t	 i, j, k;

	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		for (j = 0; j < reg->repositories.len; j++) {
			struct repository *repo = reg->repositories.items[j];
			for (k = 0; k < repo->images.len; k++) {
				struct image *img = repo->images.items[k];
				if (img->scan != NULL && img->scan->status ==
				    IMAGE_SCAN_IN_PROGRESS)
					(void)image_scan_job_new(img,
					    img->scan->enhanced,
					    IMAGE_SCAN_MANUAL);
			}
		}
	}
}

void
image_scan_db_changed(void)
{
	struct scanning_config	 c;
	struct scanning_applied	 a;
	char			 why[256];
	size_t			 i, j, k, n = 0;

	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		scanning_config_get(reg, &c);
		for (j = 0; j < reg->repositories.len; j++) {
			struct repository *repo = reg->repositories.items[j];
			scanning_applied(&c, repo, &a);
			if (a.frequency != SCAN_FREQ_CONTINUOUS)
				continue;
			for (k = 0; k < repo->images.len; k++) {
				struct image *img = repo->images.items[k];
				/* Archived images are not scanned. */
				if (image_status_now(img) != IMAGE_ACTIVE ||
				    !image_scan_supported(img, why,
				    sizeof(why)))
					continue;
				if (image_scan_job_new(img, 1,
				    IMAGE_SCAN_RESCAN) != NULL)
					n++;
			}
		}
		scanning_config_clear(&c);
	}
	log_info("the vulnerability database changed: %zu image%s of "
	    "continuously scanned repositories queued for a rescan", n,
	    n == 1 ? "" : "s");
}

/* --- one scan ------------------------------------------------------------ */

/* The job's image, or NULL when it is gone. */
static struct image *
image_scan_job_image(const struct image_scan_job *j)
{
	struct repository *repo;

	if ((repo = repository_lookup(j->account, j->region,
	    j->repository)) == NULL)
		return NULL;
	return image_find(repo, &j->digest);
}

static void
image_scan_recorded_cb(int err, void *arg)
{
	char	*what = arg;

	if (err != 0)
		log_warnx("the scan of %s could not be recorded: %s", what,
		    berr_message(err));
	free(what);
}

/* Records sc (taken) as the job's image's scan, and ends the job. */
static void
image_scan_record(struct image_scan_job *j, struct image_scan *sc)
{
	struct image	*img;
	struct txn	 t;
	char		 ds[DIGEST_STR_MAX], *what;

	if ((img = image_scan_job_image(j)) != NULL) {
		sc->enhanced = j->enhanced;
		sc->started_ms = j->started_ms;
		if (sc->completed_ms == 0)
			sc->completed_ms = model_now_ms();
		xasprintf(&what, "%s@%s", j->repository,
		    digest_format(&j->digest, ds));
		txn_init(&t);
		(void)txn_scan_put(&t, img, sc);
		txn_commit(&t, image_scan_recorded_cb, what);
	}
	image_scan_free(sc);
	image_scan_job_free(j);
}

static void __attribute__((format(printf, 2, 3)))
image_scan_fail(struct image_scan_job *j, const char *fmt, ...)
{
	struct image_scan	*sc;
	va_list			 ap;

	sc = xcalloc(1, sizeof(*sc));
	sc->status = IMAGE_SCAN_FAILED;
	va_start(ap, fmt);
	if (vasprintf(&sc->description, fmt, ap) == -1)
		fatalx("vasprintf");
	va_end(ap);
	log_info("scan %u of %s failed: %s", j->id, j->repository,
	    sc->description);
	image_scan_record(j, sc);
}

void
image_scan_fail_waiting(const char *why)
{
	struct image_scan_job	*j, *next;

	for (j = TAILQ_FIRST(&image_scan_queue_head); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (!j->running)
			image_scan_fail(j, "berth-scand, the scanner, %s; start "
			    "the scan again.", why);
	}
}

/* Keeps the OS and finding records of scand's answer, up to the limit. */
static int
image_scan_keep(const uint8_t *p, size_t len, struct image_scan *sc,
    uint32_t *dropped)
{
	struct scan_record	 rec;
	struct wbuf		 w;
	size_t			 off = 0, start;
	int			 rc;

	wbuf_init(&w);
	*dropped = 0;
	for (;;) {
		start = off;
		if ((rc = scan_report_next(p, len, &off, &rec)) != 1)
			break;
		if (rec.kind == SCAN_REC_PACKAGE)
			continue;
		if (w.len + (off - start) > IMAGE_SCAN_KEEP_MAX) {
			if (rec.kind == SCAN_REC_FINDING)
				(*dropped)++;
			continue;
		}
		wbuf_put(&w, p + start, off - start);
		if (rec.kind == SCAN_REC_FINDING)
			sc->nfindings++;
	}
	if (rc != 0) {
		wbuf_clear(&w);
		return -1;
	}
	sc->report = w.data;
	sc->report_len = w.len;
	return 0;
}

static void
image_scan_result_cb(int err, const struct msg_scan_result *res, int fd,
    void *arg)
{
	struct image_scan_job	*j = arg;
	struct image_scan	*sc;
	struct registry		*reg;
	struct stat		 st;
	uint8_t			*buf = NULL;
	uint32_t		 dropped;
	int			 i;

	if (err != 0) {
		image_scan_fail(j, "berth-scand, the scanner, stopped during "
		    "the scan (%s); start the scan again.",
		    berr_message(err));
		return;
	}
	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (uint64_t)st.st_size > IMAGE_SCAN_RESULT_MAX ||
	    (buf = xmalloc((size_t)st.st_size + 1)) == NULL ||
	    pread_full(fd, buf, (size_t)st.st_size, 0) !=
	    (ssize_t)st.st_size) {
		close(fd);
		free(buf);
		image_scan_fail(j, "The scanner's result could not be read.");
		return;
	}
	close(fd);
	sc = xcalloc(1, sizeof(*sc));
	if (image_scan_keep(buf, (size_t)st.st_size, sc, &dropped) == -1) {
		free(buf);
		image_scan_free(sc);
		image_scan_fail(j, "The scanner sent a malformed result.");
		return;
	}
	free(buf);
	switch (res->status) {
	case SCAN_STATUS_COMPLETE:
		sc->status = j->continuous ? IMAGE_SCAN_ACTIVE :
		    IMAGE_SCAN_COMPLETE;
		break;
	case SCAN_STATUS_UNSUPPORTED:
		/* AWS native basic scanning says UNSUPPORTED_IMAGE; Clair
		 * said FAILED, with the same UnsupportedImageError. */
		reg = registry_find(j->account, j->region);
		sc->status = reg != NULL && strcmp(registry_account_setting(
		    reg, "BASIC_SCAN_TYPE_VERSION"), "CLAIR") == 0 ?
		    IMAGE_SCAN_FAILED : IMAGE_SCAN_UNSUPPORTED;
		break;
	default:
		sc->status = IMAGE_SCAN_FAILED;
		break;
	}
	for (i = 0; i < SCAN_SEV__MAX; i++)
		sc->counts[i] = res->counts[i];
	if (dropped > 0)
		xasprintf(&sc->description, "%s (berth kept %u of the %u "
		    "findings.)", res->description, sc->nfindings,
		    sc->nfindings + dropped);
	else if (sc->status == IMAGE_SCAN_ACTIVE)
		sc->description = xstrdup("Continuous scan is selected for "
		    "image.");
	else
		sc->description = xstrdup(res->description);
	sc->db_updated_ms = res->db_updated_at * 1000;
	sc->db_generation = res->db_generation;
	sc->completed_ms = model_now_ms();
	image_scan_record(j, sc);
}

static void
image_scan_layer_opened_cb(int err, int fd, uint64_t offset, uint64_t size,
    void *arg)
{
	struct image_scan_job	*j = arg;
	char			 ds[DIGEST_STR_MAX];

	if (err == BERR_BLOB_UNKNOWN) {
		image_scan_fail(j, "The layer %s is not in the registry: it "
		    "was never pushed, or a pull through cache has not "
		    "fetched it yet (pull the image, then scan it).",
		    digest_format(&j->layers[j->next], ds));
		return;
	}
	if (err != 0) {
		image_scan_fail(j, "The layer %s could not be read from the "
		    "store: %s.", digest_format(&j->layers[j->next], ds),
		    berr_message(err));
		return;
	}
	if (scanner_layer(j->generation, j->id, j->next, j->media[j->next],
	    offset, size, fd) != 0) {
		image_scan_fail(j, "berth-scand, the scanner, stopped during "
		    "the scan; start the scan again.");
		return;
	}
	j->next++;
	image_scan_layer_open(j);
}

static void
image_scan_layer_open(struct image_scan_job *j)
{
	if (image_scan_job_image(j) == NULL) {
		/* Deleted meanwhile: nothing to scan or record. */
		image_scan_job_free(j);
		return;
	}
	if (j->next < j->nlayers) {
		blobc_blob_open(&j->layers[j->next],
		    image_scan_layer_opened_cb, j);
		return;
	}
	scanner_run(j->generation, j->id, j->nlayers, image_scan_result_cb,
	    j);
}
