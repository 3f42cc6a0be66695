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
 * berthd's model of the registries: the accounts and regions, their
 * repositories, images, tags and blob links in memory, and the durable
 * changes to them (records, transactions, the metadata's load and
 * compaction, garbage collection, lifecycle runs).  berthd.h includes it;
 * ARCHITECTURE.md has the map.
 */

#ifndef MODEL_H
#define MODEL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"
#include "proto.h"
#include "sortvec.h"

struct event;
struct image_scan;

#define ACCOUNT_LEN		12
#define REGION_MAX		32
#define PRINCIPAL_MAX		200	/* an IAM principal's ARN */
#define DEFAULT_ACCOUNT		"000000000000"
#define DEFAULT_REGION		"us-east-1"
#define MANIFEST_MAX		(4 * 1024 * 1024)
/* ECR's service quotas: the adjustable ones are flags' defaults. */
#define ECR_IMAGES_MAX		100000	/* per repository */
#define ECR_REPOSITORIES_MAX	100000	/* per registry (region) */
#define ECR_IMAGE_TAGS_MAX	1000	/* per image; not adjustable */


/* ==== the model and its durable changes ================================== */

/* --- the model (model.c) ------------------------------------------------- */

enum tag_mutability {
	MUT_MUTABLE = 0,
	MUT_IMMUTABLE,
	MUT_IMMUTABLE_WITH_EXCLUSION,
	MUT_MUTABLE_WITH_EXCLUSION
};

struct kv {
	char	*key;
	char	*value;
};

/* A repository's configuration, written whole by REC_REPO_PUT. */
struct repo_config {
	enum tag_mutability mutability;
	char		**mut_filters;		/* WILDCARD values */
	size_t		  nmut_filters;
	int		  scan_on_push;
	/* "AES256", "KMS", "KMS_DSSE" */
	char		 *encryption_type;
	char		 *kms_key;		/* NULL unless KMS */
	struct kv	 *tags;			/* resource tags, in order */
	size_t		  ntags;
	char		 *policy;		/* NULL: none */
	char		 *lifecycle;		/* NULL: none */
	int64_t		  lifecycle_evaluated_ms;
};

/* A stored blob, shared by every repository that links it. */
struct blob {
	struct digest	 digest;
	uint64_t	 size;
	uint32_t	 refs;		/* image references (config, layers) */
	uint32_t	 links;		/* repositories it is visible in */
	int64_t		 active_ms;	/* last push activity on it */
	int64_t		 deref_ms;	/* when refs last fell to zero */
	struct link	*link_list;	/* its links, for forgetting it */
};

/* A blob visible in one repository. */
struct link {
	struct blob	*blob;
	int64_t		 linked_ms;
	struct repository *repo;
	struct link	*next, *prev;	/* the blob's other links */
};

enum image_ref_kind { REF_CONFIG = 1, REF_LAYER = 2, REF_MANIFEST = 3 };

struct image_ref {
	enum image_ref_kind kind;
	struct digest	 digest;
	uint64_t	 size;
	char		*media_type;	/* may be NULL */
};

/* imageStatus: an archived image is kept but neither listed by default
 * nor served; ACTIVATING is one on its way back to ACTIVE. */
enum image_status {
	IMAGE_ACTIVE = 0,
	IMAGE_ARCHIVED,
	IMAGE_ACTIVATING
};

struct image {
	struct repository *repo;
	struct digest	 digest;
	char		*media_type;	/* the manifest's */
	char		*artifact_type;	/* NULL when a plain image */
	uint8_t		*manifest;	/* the exact bytes pushed */
	size_t		 manifest_len;
	int64_t		 pushed_ms;
	int64_t		 pulled_ms;	/* 0: never */
	struct image_ref *refs;
	size_t		 nrefs;
	int		 has_subject;
	struct digest	 subject;
	uint64_t	 size;		/* imageSizeInBytes */
	char		**tags;		/* sorted */
	size_t		 ntags;
	enum image_status status;
	int64_t		 archived_ms;	/* lastArchivedAt, 0: never */
	int64_t		 activated_ms;	/* lastActivatedAt, 0: never */
	struct image_scan *scan;	/* NULL: never scanned */
};

struct tag {
	char		*name;
	struct image	*image;
};

/*
 * What the images of one repository name, by digest: so that "does an
 * image here use this layer", "is this image an index's child" and "which
 * images refer to this subject" are lookups, not scans of every image.
 */
struct repo_ref {
	struct digest	 digest;
	uint32_t	 blob_refs;	/* images naming it as config or layer */
	uint32_t	 index_refs;	/* indexes naming it as a manifest */
	char		*media_type;	/* of a blob reference, or NULL */
	struct sortvec	 referrers;	/* struct image naming it as subject,
					   by digest */
};

struct repository {
	struct registry	*registry;
	char		*name;
	int64_t		 created_ms;
	struct repo_config config;
	struct sortvec	 images;	/* struct image, by digest */
	struct sortvec	 tags;		/* struct tag, by name */
	struct sortvec	 links;		/* struct link, by digest */
	struct sortvec	 refs;		/* struct repo_ref, by digest */
	/* Changes with every change to its images, tags or configuration
	 * (not with a pull); never reused, even across a reload of the
	 * model, so a lifecycle run sees whether what it evaluated still
	 * holds. */
	uint64_t	 generation;
	int		 batched;	/* has holes: model_batch_end */
};

/* One account's registry in one region. */
struct registry {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	struct sortvec	 repositories;	/* by name */
	struct sortvec	 settings;	/* struct kv, by key */
};

struct model {
	struct sortvec	 registries;	/* by "account/region" */
	struct sortvec	 blobs;		/* struct blob, by digest */
	uint8_t		 secret[32];	/* signs auth tokens */
	int64_t		 clock_offset_ms; /* the test clock (testclock.c) */
	int		 have_secret;
	uint64_t	 log_entries;	/* appended since the last snapshot */
	uint64_t	 log_bytes;
	uint64_t	 snapshot_entries; /* in the last snapshot written */
	uint64_t	 snapshot_bytes;
};

extern struct model	*model;

/* How long a restore from the archive takes (ACTIVATING), by the model's
 * clock: AWS says up to 20 minutes (userguide/restore-image.html). */
#define IMAGE_RESTORE_MS	(20 * 60 * 1000LL)
/* The image's status now: a restore whose time has come is ACTIVE. */
enum image_status image_status_now(const struct image *);
/* Whether the image may be pulled (it is not archived or restoring). */
int		 image_is_pullable(const struct image *);
/* Now for the model: the real clock moved by the test clock's offset. */
int64_t		 model_now_ms(void);
struct model	*model_new(void);
void		 model_free(struct model *);
/* Replaces the global model (the old one is freed). */
void		 model_install(struct model *);

struct registry	*registry_find(const char *account, const char *region);
struct registry	*registry_get(const char *account, const char *region);
/* Whether the registry may hold one more repository
 * (--max-repositories). */
int		 registry_has_room(const char *account, const char *region);
struct repository *repository_find(const struct registry *, const char *);
/* The repository of that name in account's registry in region, or NULL. */
struct repository *repository_lookup(const char *account, const char *region,
		    const char *name);
struct image	*image_find(const struct repository *, const struct digest *);
struct tag	*tag_find(const struct repository *, const char *);
struct link	*link_find(const struct repository *, const struct digest *);
struct blob	*blob_find(const struct digest *);
const char	*registry_setting(const struct registry *, const char *key);
/* A registry setting whose value is a JSON object, parsed (put it); NULL
 * when it is missing or not an object. */
struct json_object *registry_setting_json(const struct registry *,
		    const char *key);
/* A registry's account setting (PutAccountSetting), or AWS's default for
 * a name AWS knows (BASIC_SCAN_TYPE_VERSION AWS_NATIVE, REGISTRY_POLICY_SCOPE
 * V2, BLOB_MOUNTING DISABLED); NULL for any other name. */
const char	*registry_account_setting(const struct registry *,
		    const char *name);
/* The setting that excludes a principal's pulls from moving pull times
 * (RegisterPullTimeUpdateExclusion): this prefix and the ARN, the value
 * its creation time in milliseconds. */
#define PULL_EXCLUSION_KEY	"pull-time-exclusion/"
/* Marks push activity on a blob (GC keeps it for the grace period). */
void		 blob_touch(struct blob *);
/* Whether a tag may be moved (to another image) in this repository. */
int		 repository_tag_is_immutable(const struct repository *,
		    const char *tag);
void		 repo_config_init(struct repo_config *);
void		 repo_config_clear(struct repo_config *);
void		 repo_config_copy(struct repo_config *dst,
		    const struct repo_config *src);
/* What the repository's images name of that digest, or NULL. */
const struct repo_ref *repo_ref_find(const struct repository *,
		    const struct digest *);
/* The images that name subject as their subject, in digest order. */
size_t		 repository_referrers(const struct repository *,
		    const struct digest *subject, struct image **out,
		    size_t max);

/* The model's primitive mutations, used only by record.c when applying a
 * record (live or replayed).  They return 0 or a negative BERR code. */
int	model_repo_put(const char *account, const char *region,
	    const char *name, int64_t created_ms, struct repo_config *take);
int	model_repo_delete(const char *account, const char *region,
	    const char *name);
int	model_image_put(struct repository *, struct image *take);
int	model_image_delete(struct repository *, const struct digest *);
/*
 * Image deletions between these two leave holes in their repositories'
 * sorted arrays (images, tags, the references index), which the end
 * closes in one pass per array rather than a memmove per deletion: a
 * lifecycle slice's expiries from a repository of 100,000 images.  In
 * between, those arrays are read only through sortvec's functions
 * (image_find, tag_find): a caller changes nothing else.
 */
void	model_batch_begin(void);
void	model_batch_end(void);
int	model_tag_put(struct repository *, const char *tag,
	    const struct digest *);
int	model_tag_delete(struct repository *, const char *tag);
int	model_link_put(struct repository *, const struct digest *,
	    uint64_t size, int64_t linked_ms);
int	model_link_delete(struct repository *, const struct digest *);
int	model_blob_forget(const struct digest *);
int	model_setting_put(struct registry *, const char *key,
	    const char *value);
int	model_image_status(struct repository *, const struct digest *,
	    enum image_status, int64_t archived_ms, int64_t activated_ms);
/* Marks a change to repo (its generation); a pull is none. */
void	model_repo_changed(struct repository *);
int	model_setting_delete(struct registry *, const char *key);
void	image_free(struct image *);

/* --- records (record.c) -------------------------------------------------- */

/*
 * A record is the durable form of one change to the model; a log entry is
 * a version byte and a batch of records.  The record_* encoders append one
 * record to the entry in w, starting the entry when w is empty.
 */
void	record_entry_begin(struct wbuf *);
void	record_repo_put(struct wbuf *, const char *account,
	    const char *region, const char *name, int64_t created_ms,
	    const struct repo_config *);
void	record_repo_delete(struct wbuf *, const struct repository *);
void	record_image_put(struct wbuf *, const struct image *);
void	record_image_delete(struct wbuf *, const struct image *);
void	record_tag_put(struct wbuf *, const struct repository *,
	    const char *tag, const struct digest *);
void	record_tag_delete(struct wbuf *, const struct repository *,
	    const char *tag);
void	record_link_put(struct wbuf *, const struct repository *,
	    const struct digest *, uint64_t size, int64_t linked_ms);
void	record_link_delete(struct wbuf *, const struct repository *,
	    const struct digest *);
void	record_blob_forget(struct wbuf *, const struct digest *);
void	record_pull_time(struct wbuf *, const struct image *, int64_t ms);
void	record_secret(struct wbuf *, const uint8_t *, size_t);
void	record_image_status(struct wbuf *, const struct image *,
	    enum image_status, int64_t archived_ms, int64_t activated_ms);
void	record_clock(struct wbuf *, int64_t offset_ms);
/* A repository's lifecycle lastEvaluatedAt alone (a run writes it for
 * every repository it evaluates: the whole configuration was most of a
 * small repository's run). */
void	record_repo_evaluated(struct wbuf *, const struct repository *,
	    int64_t ms);
void	record_setting_put(struct wbuf *, const struct registry *,
	    const char *key, const char *value);
void	record_setting_delete(struct wbuf *, const struct registry *,
	    const char *key);
/* Applies the one record at [p, p+len) to the model: 0, or a negative BERR
 * code and the model unchanged. */
int	record_apply(const uint8_t *p, size_t len);
/* Applies one log entry (a batch of records) to the model; 0 or -1. */
int	record_apply_entry(const uint8_t *, size_t);
/* Serializes the whole model as log entries into fd (for compaction);
 * returns the number of entries, or -1. */
int64_t	record_snapshot(int fd, uint64_t *len);

/* --- transactions (txn.c) ------------------------------------------------ */

/*
 * A transaction is a batch of records written as one log entry: all or
 * nothing after a crash.  Each txn_* call encodes a record and applies it
 * to the model at once, through the same code that replays the log, so
 * that memory and disk cannot disagree.  The first record that does not
 * apply is the transaction's error (err), which the txn_* calls return;
 * after it they do nothing.  A transaction is built and committed in one
 * run of the event loop, never across a wait: snapshots assume every
 * change in memory has had its entry sent.
 */
struct txn {
	struct wbuf	 buf;
	size_t		 nrecords;
	int		 adds;		/* a record that is not a deletion */
	int		 err;
};

void	txn_init(struct txn *);
void	txn_clear(struct txn *);
int	txn_repo_put(struct txn *, const char *account, const char *region,
	    const char *name, int64_t created_ms, const struct repo_config *);
/* A repository with the default configuration unless it exists;
 * BERR_NAME_INVALID when name is not one ECR allows, BERR_LIMIT_EXCEEDED
 * when the registry has no room for it (registry_has_room). */
int	txn_repo_ensure(struct txn *, const char *account, const char *region,
	    const char *name);
int	txn_repo_delete(struct txn *, struct repository *);
/* image->repo must be set; the image is copied. */
int	txn_image_put(struct txn *, const struct image *);
int	txn_image_delete(struct txn *, struct image *);
int	txn_tag_put(struct txn *, struct repository *, const char *tag,
	    const struct digest *);
int	txn_tag_delete(struct txn *, struct repository *, const char *tag);
int	txn_link_put(struct txn *, struct repository *,
	    const struct digest *, uint64_t size);
int	txn_link_delete(struct txn *, struct repository *,
	    const struct digest *);
int	txn_blob_forget(struct txn *, const struct digest *);
int	txn_pull_time(struct txn *, struct image *, int64_t ms);
int	txn_secret(struct txn *, const uint8_t *secret, size_t len);
int	txn_image_status(struct txn *, struct image *, enum image_status,
	    int64_t archived_ms, int64_t activated_ms);
int	txn_clock(struct txn *, int64_t offset_ms);
int	txn_repo_evaluated(struct txn *, struct repository *, int64_t ms);
int	txn_setting_put(struct txn *, struct registry *, const char *key,
	    const char *value);
int	txn_setting_delete(struct txn *, struct registry *, const char *key);
typedef void (*txn_done_cb)(int err, void *arg);
/*
 * Takes the transaction's contents (it is cleared) and sends them to
 * blobd as one entry, even when it has no records (it then orders the
 * answer after every entry sent before it).  done runs, never before
 * txn_commit returns, with the transaction's error, else with 0 once the
 * entry is fsync'd, else with the append's error (the model is then
 * reloaded from disk, undoing the change).  A transaction whose error
 * came before any record applied sends nothing.
 */
void	txn_commit(struct txn *, txn_done_cb, void *arg);
/*
 * A link record that rides with its blob (blobc_blob's entry): encoded in
 * an empty t but not applied; 0, or -1 when it cannot ride now (the
 * caller links once the blob is stored instead).  txn_link_landed says
 * how the commit went (err 0: the blob and the record are durable) and
 * applies the record then; it returns err, or the record's own error,
 * and clears t.
 */
int	txn_link_ride(struct txn *, struct repository *,
	    const struct digest *, uint64_t size);
int	txn_link_landed(struct txn *, int err);

/* --- loading and compacting the metadata (meta.c) ------------------------ */

typedef void (*meta_done_cb)(int err, void *arg);
/* Asks blobd for the state, builds a new model and installs it. */
void	meta_load(meta_done_cb, void *arg);
/* Compacts the log when enough has been appended since the last time. */
void	meta_maybe_compact(void);
/* Whether a log of log_bytes in log_entries since a snapshot of
 * snapshot_bytes is due for compaction: when it outgrows the snapshot and
 * 64 MiB, or has 100,000 entries and a quarter of the snapshot's size.
 * Start-up thus replays at most about twice the state. */
int	meta_compaction_due(uint64_t snapshot_bytes, uint64_t log_bytes,
	    uint64_t log_entries);
/* Compacts now (once the link records riding with blobs landed): the
 * snapshot replaces the log; done may be NULL.  BERR_UNAVAILABLE when a
 * compaction or a load is already running. */
void	meta_compact(meta_done_cb done, void *arg);
/* A link record is to ride with its blob (txn_link_ride): 0, or -1 when
 * a compaction waits for those in flight.  meta_ride_end when it landed
 * or failed. */
int	meta_ride_begin(void);
void	meta_ride_end(void);
/* Notes a pull of the image by principal (an ARN): its pull time moves
 * unless the registry excludes the principal (PULL_EXCLUSION_KEY); the
 * times are written in batches, not per request. */
void	meta_note_pull(struct image *, const char *principal);
/* Writes the pull times noted so far; done (may be NULL) runs when they
 * are durable, at once when there were none. */
void	meta_flush_pulls(meta_done_cb done, void *arg);
int	meta_loading(void);
/* Keeps a copy of an entry sent while a load is in flight (txn_commit). */
void	meta_sent_entry(const uint8_t *, size_t);

/* --- garbage collection (gc.c) ------------------------------------------- */

struct gc_result {
	int		 dry_run;
	uint64_t	 examined;
	uint64_t	 blobs;
	uint64_t	 bytes;
	int64_t		 duration_ms;
};

struct gc_stats {
	uint64_t	 runs;
	uint64_t	 blobs;
	uint64_t	 bytes;
};

typedef void (*gc_done_cb)(int err, const struct gc_result *, void *arg);
/* Queues a run; runs are serialized.  With ignore_grace, unreferenced
 * blobs go however recently a push touched them (after a reset of every
 * registry).  A run fails with BERR_UNAVAILABLE unless blobd is up and the
 * metadata loaded when it starts and when it marks. */
void	gc_run(int dry_run, int ignore_grace, gc_done_cb, void *arg);
/* Queues a run after a reset of some registries: a blob in released (what
 * they referenced or linked; the run takes the array) goes however new if
 * nothing references or links it now; every other blob keeps the grace
 * rule. */
void	gc_run_released(struct digest *released, size_t n, gc_done_cb,
	    void *arg);
const struct gc_stats *gc_stats(void);
/*
 * The marking rule.  b is the model's blob (NULL if the metadata does not
 * know it); a blob is kept while an image references it, or while push
 * activity on it (upload, mount, existence check) newer than its last
 * dereference is within the grace period.
 */
int	gc_blob_is_garbage(const struct blob *b, int64_t mtime_ms,
	    int64_t now_ms, int64_t grace_ms);

/* --- image lifecycle runs (lifecycle_run.c) ----------------------------- */

struct lifecycle_image;
struct lifecycle_policy;
struct lifecycle_eval;
struct json_object;

#define LIFECYCLE_SLICE_US	5000	/* of the loop, at most, per slice */
#define LIFECYCLE_WORK		4096	/* images' worth between clock reads */

/*
 * A repository's images as lifecycle.h's evaluator takes them, in the
 * repository's (digest) order, built a step at a time: a pass counting
 * the indexes' children, then one filling.  The tags are the model's:
 * valid while the repository's generation does not move.
 */
struct lifecycle_input {
	struct lifecycle_image *images;
	uint32_t	*children;
	size_t		 n;
	size_t		 nchildren;
	int		 counted;	/* the first pass is over */
	size_t		 pos;		/* the next image of the pass */
	size_t		 c;		/* children filled */
};

/* One evaluation of a repository in steps: its input, then the
 * evaluator's steps. */
struct lifecycle_pass {
	struct lifecycle_eval *eval;		/* the caller's */
	const struct lifecycle_policy *policy;
	int64_t		 now_ms;
	struct lifecycle_input in;
	int		 evaluating;	/* the input is whole */
};

/*
 * lifecycle_pass_start, then lifecycle_pass_step until it returns 1, each
 * call doing about work images' worth: ev's verdicts and order are then
 * the evaluation of policy over repo's images at now_ms.  policy and the
 * repository (its generation) must not change meanwhile; start again if
 * it does.  lifecycle_pass_clear frees the input (ev is the caller's).
 */
void	lifecycle_pass_start(struct lifecycle_pass *, struct lifecycle_eval *ev,
	    const struct repository *repo,
	    const struct lifecycle_policy *policy, int64_t now_ms);
int	lifecycle_pass_step(struct lifecycle_pass *,
	    const struct repository *repo, size_t work);
void	lifecycle_pass_clear(struct lifecycle_pass *);

/* report (the callback's) is NULL unless err is 0: {"repositories": [{
 * "account", "region", "repository", "images", "expired", "transitioned",
 * "rules": [{"rulePriority", "expired", "transitioned"}]}], "expired",
 * "transitioned", "commits"}, commits being the durable transactions it
 * wrote. */
typedef void (*lifecycle_run_cb)(int err, struct json_object *report,
    void *arg);
/*
 * Queues a run over the repositories with a lifecycle policy, all of them
 * or those of account, region and repository (each NULL for any); cb
 * (may be NULL) runs when it is done.  Runs are serialized and act in
 * slices, each durable before the next.  0, or BERR_UNAVAILABLE when the
 * model is not ready (cb does not run then).
 */
int	lifecycle_run_start(const char *account, const char *region,
	    const char *repository, lifecycle_run_cb cb, void *arg);
struct lifecycle_stats {
	uint64_t	 runs;
	uint64_t	 repositories;	/* evaluated */
	uint64_t	 images;	/* evaluated */
	uint64_t	 expired;
	uint64_t	 transitioned;
};
const struct lifecycle_stats *lifecycle_stats(void);
/* Runs every repository's policy every interval seconds of the real
 * clock (AWS: "within 24 hours"); 0: never by itself. */
void	lifecycle_schedule(int64_t interval);

#endif /* MODEL_H */
