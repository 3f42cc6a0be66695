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
 * berth-scand's private header: the image scanner.  The sandboxed child
 * reads the layers of one image (scan_layer.c) and the package databases
 * in them (scan_pkgdb.c, scan_rpm.c) into an inventory; the parent matches
 * the inventory against the OSV advisories it loaded (scan_osv.c) with each
 * ecosystem's version order (scan_version.c).  Both hand their results on
 * in the record format of scan_report.c.
 */
#ifndef BERTH_SCAN_H
#define BERTH_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "scanproto.h"

/* The package ecosystems whose databases the scanner reads. */
enum scan_eco {
	SCAN_ECO_NONE = 0,
	SCAN_ECO_DPKG,
	SCAN_ECO_APK,
	SCAN_ECO_RPM,
	SCAN_ECO__MAX
};

/* Longest name, version or architecture the scanner keeps. */
#define SCAN_FIELD_MAX		256
/* Most packages one image may list. */
#define SCAN_PACKAGES_MAX	100000

/* An installed package.  Strings are owned by the list. */
struct scan_package {
	enum scan_eco	 eco;
	char		*name;		/* binary package */
	char		*version;	/* its full version, ecosystem syntax */
	char		*source;	/* source package, or NULL: as name */
	char		*source_version;/* NULL: as version */
	char		*arch;		/* or NULL */
};

struct scan_pkglist {
	struct scan_package	*v;
	size_t			 len, cap;
};

/* The operating system, from os-release(5). */
struct scan_os {
	char	 id[64];		/* "debian", "alpine", "rocky" */
	char	 version_id[64];	/* "12", "3.19.1", "9.3" */
	char	 pretty_name[128];
};

/* An advisory that affects a package, as the matcher reports it.  The
 * strings belong to the database or the inventory; "" when absent. */
struct scan_finding {
	const char	*id;		/* the advisory's own id */
	const char	*name;		/* its CVE id when it names one */
	const char	*description;
	const char	*uri;
	int		 severity;	/* enum scan_severity */
	const char	*package_name;
	const char	*package_version;
	const char	*fixed_version;	/* the first fixed version, or "" */
	const char	*cvss_vector;
	int		 cvss_score10;	/* score times ten, -1: none */
	const char	*ecosystem;	/* as the advisory names it */
};

/* What the child found in an image. */
struct scan_inventory {
	struct scan_os		 os;
	int			 have_os;
	struct scan_pkglist	 packages;
};

/* --- scan_version.c ------------------------------------------------------- */

/* Each returns <0, 0 or >0 as a sorts before, with or after b. */
int	scan_dpkg_version_cmp(const char *a, const char *b);
int	scan_apk_version_cmp(const char *a, const char *b);
/* rpmvercmp: one version or release string. */
int	scan_rpm_vercmp(const char *a, const char *b);
/* "[epoch:]version[-release]" */
int	scan_rpm_evr_cmp(const char *a, const char *b);
/* The comparator of the ecosystem (byte order for SCAN_ECO_NONE). */
int	scan_version_cmp(enum scan_eco, const char *a, const char *b);

/* --- scan_pkgdb.c --------------------------------------------------------- */

/* Adds a package (strings copied; NULL source, source_version, arch
 * allowed).  -1 when the list is full or a field is empty or too long. */
int	scan_pkglist_add(struct scan_pkglist *, enum scan_eco,
	    const char *name, const char *version, const char *source,
	    const char *source_version, const char *arch);
void	scan_pkglist_clear(struct scan_pkglist *);
void	scan_inventory_clear(struct scan_inventory *);
/* Sorts by ecosystem, name, version and drops exact duplicates. */
void	scan_pkglist_sort(struct scan_pkglist *);
const char *scan_eco_name(enum scan_eco);
enum scan_eco scan_eco_from_name(const char *);

/*
 * Parsers of untrusted file contents (buf need not be NUL-terminated).
 * Each adds what it finds to the list and returns the number of packages
 * added, or -1 when the file is not of its format at all (a malformed
 * stanza is skipped, not fatal: a package database is never partial on
 * purpose, but one broken entry should not hide the others).
 */
/* dpkg's status file, or one file of a distroless status.d/. */
int	scan_dpkg_parse(const char *buf, size_t len, struct scan_pkglist *);
/* apk's lib/apk/db/installed. */
int	scan_apk_parse(const char *buf, size_t len, struct scan_pkglist *);
/* os-release(5); 0, or -1 without an ID. */
int	scan_os_release_parse(const char *buf, size_t len, struct scan_os *);

/* --- scan_rpm.c ----------------------------------------------------------- */

/* One header blob as rpm stores it in its database (no lead, no magic):
 * 1 and the package added, 0 for a header without a name (gpg-pubkey
 * entries are skipped too), -1 when the blob is malformed. */
int	scan_rpm_header_parse(const uint8_t *, size_t, struct scan_pkglist *);
/* A whole rpmdb.sqlite, in memory: packages added, or -1. */
int	scan_rpmdb_parse(const uint8_t *, size_t, struct scan_pkglist *);

/* --- scan_layer.c --------------------------------------------------------- */

struct scan_limits {
	uint64_t	 max_file;	/* one package database, bytes */
	uint64_t	 max_unpacked;	/* all layers decompressed, bytes */
	uint64_t	 max_entries;	/* tar entries over all layers */
	int		 threads;	/* layers read at once */
};
#define SCAN_THREADS_MAX	8

/* A layer to read: a descriptor open for reading and its media type. */
struct scan_layer {
	int		 fd;
	uint32_t	 media;		/* enum scan_media (scanproto.h) */
};

/* The totals of one read, for logs and the bench. */
struct scan_stats {
	uint64_t	 compressed;	/* layer bytes read */
	uint64_t	 unpacked;	/* tar bytes after decompression */
	uint64_t	 entries;
};

/*
 * Reads the layers (up to limits.threads at once, each into a list of the
 * changes it makes), applies their changes lowest first, whiteouts and
 * opaque directories included, and fills the inventory from the files
 * that survive.
 * Returns SCAN_STATUS_COMPLETE, or SCAN_STATUS_FAILED /
 * SCAN_STATUS_UNSUPPORTED with a description for a person in why.
 */
int	scan_layers_read(const struct scan_layer *, size_t n,
	    const struct scan_limits *, struct scan_inventory *,
	    struct scan_stats *, char *why, size_t whysz);

/* --- scan_gzip.c ----------------------------------------------------------- */

struct archive;
struct scan_gzip;

/* A gzip reader for the layer at fd, or NULL when fd does not start with
 * gzip's magic or cannot be peeked at (then libarchive's filters read
 * it).  The reader reads fd from its current offset. */
struct scan_gzip *scan_gzip_new(int fd);
void	scan_gzip_free(struct scan_gzip *);
/* Opens a with the decompressed stream (ARCHIVE_OK or an error). */
int	scan_gzip_open(struct archive *, struct scan_gzip *);
/* Compressed bytes read so far. */
uint64_t scan_gzip_compressed(const struct scan_gzip *);

/* --- scan_report.c -------------------------------------------------------- */

/*
 * The records the child sends the parent and the parent sends berthd
 * (scanproto.h describes the format).  Encoders append to a buffer;
 * the decoder checks every record before it hands it on.
 */
struct wbuf;
void	scan_report_os(struct wbuf *, const struct scan_os *);
void	scan_report_package(struct wbuf *, const struct scan_package *);
void	scan_report_finding(struct wbuf *, const struct scan_finding *);

/* One decoded record: fields point into the input (not NUL-terminated). */
struct scan_record {
	uint32_t	 kind;			/* enum scan_record_kind */
	uint32_t	 nfields;
	const char	*field[SCAN_RECORD_FIELDS_MAX];
	uint32_t	 flen[SCAN_RECORD_FIELDS_MAX];
};
/* Decodes the next record at *off; 1 and *off advanced, 0 at the end, or
 * -1 when the bytes are malformed. */
int	scan_report_next(const uint8_t *, size_t, size_t *off,
	    struct scan_record *);
/* Inventory records back into an inventory: 0, or -1 when malformed
 * (a finding among them is malformed too). */
int	scan_report_inventory(const uint8_t *, size_t,
	    struct scan_inventory *);
/*
 * The child's whole report: its status, its totals, the description
 * (a scan status's why) and, when inv is not NULL, the inventory.
 */
void	scan_report_child(struct wbuf *, int status,
	    const struct scan_stats *, const char *why,
	    const struct scan_inventory *inv);
/* A copy of s (at most max bytes) that the decoder accepts in a field:
 * bad UTF-8 as '?', control characters as spaces (tab and newline kept
 * when multiline). */
char	*scan_text_clean(const char *s, size_t max, int multiline);
/* The enum scan_media of a layer media type (OCI's and Docker's), or 0
 * for one that is not a layer the scanner reads. */
enum scan_media scan_media_from_type(const char *);
/* 0, or -1 when malformed (inv is then empty). */
int	scan_report_child_decode(const uint8_t *, size_t, int *status,
	    struct scan_stats *, char *why, size_t whysz,
	    struct scan_inventory *inv);

/* --- scan_osv.c, scan_cvss.c --------------------------------------------- */

struct osv_db;

/* An empty database. */
struct osv_db	*osv_db_new(void);
void		 osv_db_free(struct osv_db *);
/*
 * Adds the advisory in one OSV JSON document (an object, or an array of
 * objects).  Entries of ecosystems the scanner does not read are ignored.
 * 0, or -1 with a reason in why when the document is not OSV.
 */
int	osv_db_add_json(struct osv_db *, const char *buf, size_t len,
	    char *why, size_t whysz);
/* Every *.json file beneath dir (recursively): 0, or -1 when the
 * directory cannot be read; files that are not OSV are counted in
 * *skipped and logged. */
int	osv_db_load_dir(struct osv_db *, int dirfd, size_t *skipped);
/* Indexes what was added; must be called before matching. */
void	osv_db_finish(struct osv_db *);
size_t	osv_db_advisories(const struct osv_db *);
/* The latest "modified" time of any advisory, epoch seconds (0: none). */
int64_t	osv_db_updated_at(const struct osv_db *);

/* Calls cb for each advisory that affects a package of the inventory. */
typedef void (*osv_finding_cb)(const struct scan_finding *, void *arg);
size_t	osv_match(const struct osv_db *, const struct scan_inventory *,
	    osv_finding_cb, void *arg);

/* The OSV ecosystem name and release an OS's advisories use ("Debian",
 * "12"), or -1 for an OS the scanner has no mapping for. */
int	osv_os_ecosystem(const struct scan_os *, const char **name,
	    char *release, size_t releasesz);

/* A CVSS v3.x base vector to its base score times ten (0..100), or -1. */
int	cvss3_score(const char *vector);
/* ECR's severity for a score times ten (enum scan_severity). */
int	scan_severity_from_score(int score10);
/* A feed's severity word ("important", "moderate" ...), or -1. */
int	scan_severity_from_word(const char *);
/* ECR's name of a severity ("HIGH"), and back (-1 when unknown). */
const char *scan_severity_name(int);
int	scan_severity_from_name(const char *, size_t);

/* --- scan_child.c, scand.c ------------------------------------------------ */

struct scand_config {
	struct scan_limits	 limits;
	uint64_t		 memory;	/* bytes a scan may add, 0: any */
	int			 timeout_sec;	/* wall clock per scan */
	int			 seccomp;
	int			 jobs;		/* scans at once */
};

/* The forked scan process: confines itself, reads the layers and writes
 * its report (scan_report_child()) to out.  Never returns. */
void	scan_child_main(const struct scand_config *, int out,
	    const struct scan_layer *, size_t n) __attribute__((noreturn));

#endif
