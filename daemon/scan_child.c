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
 * The process that reads one image: forked by berth-scand for each scan,
 * it holds nothing but the image's layer descriptors (read-only, as
 * blobd opened them) and a pipe for its report.  Before it reads a byte
 * it gives up everything else: other descriptors, the filesystem (no
 * path may be opened at all), sockets and TCP, signals outside itself,
 * core dumps and file writes; its address space may grow by the scan's
 * memory limit and its CPU time is capped (scand also kills it at the
 * wall-clock limit).  Whatever an image does to libarchive, zlib, zstd
 * or sqlite then costs this process and no other, and scand reports the
 * scan FAILED.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sandbox.h"
#include "scan.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCAN_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCAN_SANITIZER	1
#endif
#endif

static int
fd_cmp(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Closes every descriptor but stdio and those in keep. */
static void
child_close_others(const int *keep, size_t n)
{
	int	 sorted[SCAN_LAYERS_MAX + 4];
	int	 prev = 2;
	size_t	 i;

	memcpy(sorted, keep, n * sizeof(*keep));
	qsort(sorted, n, sizeof(*sorted), fd_cmp);
	for (i = 0; i < n; i++) {
		if (sorted[i] > prev + 1)
			(void)close_range((unsigned)prev + 1,
			    (unsigned)sorted[i] - 1, 0);
		if (sorted[i] > prev)
			prev = sorted[i];
	}
	(void)close_range((unsigned)prev + 1, ~0U, 0);
}

/* The address space in use now, from /proc/self/statm; 0 if unknown. */
static uint64_t
child_vsize(void)
{
	unsigned long long	 pages = 0;
	FILE			*f;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &pages) != 1)
		pages = 0;
	fclose(f);
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void
child_limit(int resource, uint64_t value)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)value;
	if (setrlimit(resource, &rl) == -1)
		fatal("setrlimit %d", resource);
}

static void
child_confine(const struct scand_config *cf, int out,
    const struct scan_layer *layers, size_t n)
{
	struct sandbox_policy	 p;
	int			 keep[SCAN_LAYERS_MAX + 1];
	size_t			 i;
	int			 maxfd = out;
	uint64_t		 vsize;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* A group of its own: scand kills the group, so that nothing the
	 * scan might start outlives it. */
	(void)setpgid(0, 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	keep[0] = out;
	for (i = 0; i < n; i++) {
		keep[i + 1] = layers[i].fd;
		if (layers[i].fd > maxfd)
			maxfd = layers[i].fd;
	}
	child_close_others(keep, n + 1);
	vsize = child_vsize();

	child_limit(RLIMIT_CORE, 0);
	child_limit(RLIMIT_FSIZE, 0);
	child_limit(RLIMIT_NOFILE, (uint64_t)maxfd + 1);
	child_limit(RLIMIT_CPU, (uint64_t)cf->timeout_sec + 1);
#ifndef SCAN_SANITIZER
	/* Sanitizers reserve terabytes of shadow memory up front. */
	if (cf->memory > 0)
		child_limit(RLIMIT_AS, vsize + cf->memory);
#else
	(void)vsize;
#endif
	memset(&p, 0, sizeof(p));
	p.rw_dirfd = -1;
	p.deny_tcp = 1;
	p.scope_signals = 1;
	p.scope_abstract_unix = 1;
	p.deny_sockets = cf->seccomp;
	if (sandbox_apply(&p) == -1)
		fatalx("cannot confine the scan");
}

void
scan_child_main(const struct scand_config *cf, int out,
    const struct scan_layer *layers, size_t n)
{
	struct scan_inventory	 inv;
	struct scan_stats	 stats;
	struct wbuf		 report;
	char			 why[SCAN_DESCRIPTION_MAX];
	int			 status;

	/* One scan, one process: its sandbox line only with -v. */
	log_init("berth-scand[scan]", log_verbosity() > LOG_LVL_INFO ?
	    log_verbosity() : LOG_LVL_WARN);
	child_confine(cf, out, layers, n);
	status = scan_layers_read(layers, n, &cf->limits, &inv, &stats, why,
	    sizeof(why));
	wbuf_init(&report);
	scan_report_child(&report, status, &stats, why,
	    status == SCAN_STATUS_COMPLETE ? &inv : NULL);
	if (write_full(out, report.data, report.len) == -1)
		_exit(1);
	_exit(0);
}
