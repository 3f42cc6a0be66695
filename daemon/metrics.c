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
 * Request metrics and the access log.  The HTTP layer reports every
 * finished request here; /_berth/metrics renders the counters in the
 * Prometheus text format together with gauges read from the model and
 * from blobd.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "berthd.h"
#include "log.h"
#include "util.h"

static const double metrics_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10, 30
};
#define NBUCKETS	(sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

/* Status codes are counted by class and exact code. */
struct metrics_class {
	char		 name[32];
	uint64_t	 by_status[600];
	uint64_t	 buckets[NBUCKETS];	/* cumulative at render */
	uint64_t	 count;
	double		 sum_seconds;
};

#define MAX_CLASSES	24

static struct metrics_class	 metrics_classes[MAX_CLASSES];
static size_t			 metrics_nclasses;
static uint64_t			 metrics_bytes_in, metrics_bytes_out;

static struct metrics_class *
metrics_class_get(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0')
		name = "none";
	for (i = 0; i < metrics_nclasses; i++)
		if (strcmp(metrics_classes[i].name, name) == 0)
			return &metrics_classes[i];
	if (metrics_nclasses == MAX_CLASSES)
		return &metrics_classes[MAX_CLASSES - 1];
	snprintf(metrics_classes[metrics_nclasses].name,
	    sizeof(metrics_classes[0].name), "%s", name);
	return &metrics_classes[metrics_nclasses++];
}

void
metrics_request_cb(const struct http_request_summary *s, void *arg)
{
	struct metrics_class *c = metrics_class_get(s->route_class);
	double		 secs = (double)s->duration_us / 1e6;
	size_t		 i;

	if (s->status >= 100 && s->status < 600)
		c->by_status[s->status]++;
	for (i = 0; i < NBUCKETS; i++)
		if (secs <= metrics_buckets[i]) {
			c->buckets[i]++;
			break;
		}
	c->count++;
	c->sum_seconds += secs;
	metrics_bytes_in += s->bytes_in;
	metrics_bytes_out += s->bytes_out;
	log_info("ACCESS %s \"%s %s\" %d %llu %lldms", s->peer != NULL ?
	    s->peer : "-", s->method, s->path, s->status,
	    (unsigned long long)s->bytes_out,
	    (long long)(s->duration_us / 1000));
}

static void
metric_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A metric with one value and no labels. */
static void
metric_value(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t value)
{
	metric_head(b, name, type, help);
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)value);
}

void
metrics_render(struct evbuffer *b, const struct blobc_stats *st)
{
	const struct gc_stats *gs = gc_stats();
	uint64_t	 repos = 0, images = 0, cum;
	size_t		 i, k, code;

	metric_head(b, "berth_http_requests_total", "counter",
	    "HTTP requests by route class and status.");
	for (i = 0; i < metrics_nclasses; i++)
		for (code = 100; code < 600; code++)
			if (metrics_classes[i].by_status[code] > 0)
				evbuffer_add_printf(b,
				    "berth_http_requests_total"
				    "{class=\"%s\",code=\"%zu\"} %llu\n",
				    metrics_classes[i].name, code,
				    (unsigned long long)
				    metrics_classes[i].by_status[code]);
	metric_head(b, "berth_http_request_duration_seconds", "histogram",
	    "Time from the first byte of a request to its response.");
	for (i = 0; i < metrics_nclasses; i++) {
		struct metrics_class *c = &metrics_classes[i];
		cum = 0;
		for (k = 0; k < NBUCKETS; k++) {
			cum += c->buckets[k];
			evbuffer_add_printf(b,
			    "berth_http_request_duration_seconds_bucket"
			    "{class=\"%s\",le=\"%g\"} %llu\n", c->name,
			    metrics_buckets[k], (unsigned long long)cum);
		}
		evbuffer_add_printf(b, "berth_http_request_duration_seconds_"
		    "bucket{class=\"%s\",le=\"+Inf\"} %llu\n", c->name,
		    (unsigned long long)c->count);
		evbuffer_add_printf(b, "berth_http_request_duration_seconds_sum"
		    "{class=\"%s\"} %.6f\n", c->name, c->sum_seconds);
		evbuffer_add_printf(b, "berth_http_request_duration_seconds_"
		    "count{class=\"%s\"} %llu\n", c->name,
		    (unsigned long long)c->count);
	}
	metric_value(b, "berth_http_received_bytes_total", "counter",
	    "Request body bytes received.", metrics_bytes_in);
	metric_value(b, "berth_http_sent_bytes_total", "counter",
	    "Response body bytes sent.", metrics_bytes_out);

	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		repos += reg->repositories.len;
		for (k = 0; k < reg->repositories.len; k++)
			images += ((struct repository *)
			    reg->repositories.items[k])->images.len;
	}
	metric_value(b, "berth_repositories", "gauge",
	    "Repositories in every account and region.", repos);
	metric_value(b, "berth_images", "gauge",
	    "Images (manifests) stored.", images);
	if (st != NULL) {
		metric_value(b, "berth_blobs_stored", "gauge",
		    "Blobs in the store.", st->blobs);
		metric_value(b, "berth_blobs_stored_bytes", "gauge",
		    "Bytes of the blobs in the store.", st->bytes);
		metric_value(b, "berth_uploads_in_progress", "gauge",
		    "Blob upload sessions open.", st->uploads);
		metric_value(b, "berth_metadata_log_bytes", "gauge",
		    "Size of the metadata log since the last snapshot.",
		    st->meta_log_bytes);
		metric_value(b, "berth_uploads_held_bytes", "gauge",
		    "Bytes of small uploads held in the storage worker's "
		    "memory until their commit.", st->held_bytes);
		metric_value(b, "berth_upload_holds_refused_total", "counter",
		    "Appends small enough to be held in memory that went to "
		    "a session file instead.", st->held_refused);
		metric_value(b, "berth_upload_commit_sizes_refused_total",
		    "counter", "Commits refused for a size or offset not the "
		    "session's, then retried.", st->commit_size_refused);
	}
	metric_value(b, "berth_upload_size_lookups_total", "counter",
	    "Commits whose session size was asked of the storage worker "
	    "first (no size remembered from the last append).",
	    blob_upload_size_lookups());
	metric_value(b, "berth_blobd_up", "gauge",
	    "1 when the storage worker is serving.", worker_up());
	metric_value(b, "berth_blobd_restarts_total", "counter",
	    "Restarts of the storage worker.", worker_restarts());
	metric_value(b, "berth_gc_runs_total", "counter",
	    "Garbage collections that deleted (not dry runs).", gs->runs);
	metric_value(b, "berth_gc_reclaimed_blobs_total", "counter",
	    "Blobs deleted by garbage collection.", gs->blobs);
	metric_value(b, "berth_gc_reclaimed_bytes_total", "counter",
	    "Bytes freed by garbage collection.", gs->bytes);
}
