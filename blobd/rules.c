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
 * The frames berth-blobd accepts from berthd (see proto.h), in a file of
 * their own so that the unit tests and the frame fuzzer check this very
 * table rather than a copy of it.
 */
#include "config.h"

#include "blobd.h"
#include "proto.h"
#include "rpc.h"
#include "util.h"

const struct rpc_rule blobd_rules[] = {
	{ MSG_UPLOAD_CREATE, sizeof(struct msg_upload_create),
	    sizeof(struct msg_upload_create), RPC_FD_NONE },
	{ MSG_UPLOAD_APPEND, sizeof(struct msg_upload_append),
	    sizeof(struct msg_upload_append), RPC_FD_REQUIRED },
	{ MSG_UPLOAD_STAT, sizeof(struct msg_upload_ref),
	    sizeof(struct msg_upload_ref), RPC_FD_NONE },
	{ MSG_UPLOAD_CANCEL, sizeof(struct msg_upload_ref),
	    sizeof(struct msg_upload_ref), RPC_FD_NONE },
	{ MSG_UPLOAD_COMMIT, sizeof(struct msg_upload_commit),
	    sizeof(struct msg_upload_commit), RPC_FD_NONE },
	{ MSG_BLOB_WRITE, sizeof(struct msg_blob_write),
	    sizeof(struct msg_blob_write) + BLOB_WRITE_MAX, RPC_FD_NONE },
	{ MSG_BLOB_OPEN, sizeof(struct msg_blob_ref),
	    sizeof(struct msg_blob_ref), RPC_FD_NONE },
	{ MSG_META_APPEND, 1, FRAME_MAX_PAYLOAD, RPC_FD_NONE },
	{ MSG_META_LOAD, 0, 0, RPC_FD_NONE },
	{ MSG_META_COMPACT, sizeof(struct msg_meta_compact),
	    sizeof(struct msg_meta_compact), RPC_FD_REQUIRED },
	{ MSG_GC_LIST, 0, 0, RPC_FD_NONE },
	{ MSG_GC_SWEEP, sizeof(struct msg_gc_sweep),
	    sizeof(struct msg_gc_sweep), RPC_FD_REQUIRED },
	{ MSG_STATS, 0, 0, RPC_FD_NONE },
	{ MSG_LOG_REOPEN, 0, 0, RPC_FD_REQUIRED },
};
const size_t blobd_nrules = nitems(blobd_rules);
