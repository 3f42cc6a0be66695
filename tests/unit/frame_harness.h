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
 * What the frame and rpc channel tests share: a rule table of test frame
 * types, the receiving "side" of a channel that records every frame, and
 * loops that run an event_base until a side has what a test waits for.
 */
#ifndef FRAME_HARNESS_H
#define FRAME_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "rpc.h"

enum {
	T_PLAIN = 100,		/* any length, no descriptor */
	T_FD,			/* 0..64 bytes, descriptor required */
	T_OPT,			/* any length, descriptor optional */
	T_FIXED,		/* exactly 8 bytes, no descriptor */
	T_REQUEST,		/* 0..64 bytes, id not 0 */
	T_NOTE,			/* 0..64 bytes, id 0 */
	T_SIZED,		/* a u32 that says how many bytes follow */
	T_UNKNOWN		/* in no table */
};
extern const struct rpc_rule	 test_rules[];
extern const size_t		 test_nrules;
#define NRULES	test_nrules

struct rec {
	uint32_t	 type, id, len, flags;
	uint32_t	 crc;		/* crc32c of the payload */
	uint8_t		 head[8];	/* its first bytes */
	int		 fd;		/* as received; closed by side_clear */
	int		 fd_cloexec;
	int		 handler;	/* 0: msg_cb; else the row's handler */
};

struct side {
	struct rpc_chan	*chan;
	struct rec	*recs;
	size_t		 nrecs, cap;
	int		 closed;
	int		 close_err;
	int		 free_on_close;	/* rpc_free() in the close callback */
	size_t		 free_after;	/* rpc_free() after this many frames */
};

int	 check_sized(const struct frame_hdr *, const uint8_t *);
void	 put_hdr(uint8_t *, uint32_t, uint32_t, uint32_t, uint32_t);
int	 send2(struct rpc_chan *, uint32_t, uint32_t, const void *, size_t,
	    const void *, size_t, int);
int	 count_fds(void);
int	 fd_is_open(int);
void	 msg_cb(struct rpc_chan *, const struct frame_hdr *, const uint8_t *,
	    int, void *);
void	 close_cb(struct rpc_chan *, int, void *);
void	 side_init(struct side *, struct event_base *, int);
void	 side_clear(struct side *);
int	 run_until_count(struct event_base *, const size_t *, size_t);
int	 run_until_closed(struct event_base *, struct side *);
void	 run_briefly(struct event_base *);
int	 make_pair(int [2]);
int	 tagged_file(uint32_t);
uint32_t file_tag(int);
void	 fill(uint8_t *, size_t, uint32_t);

#endif
