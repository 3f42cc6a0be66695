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
 * A framed message channel over a UNIX stream socket on libevent, with one
 * descriptor per frame at most (see proto.h for the frame format).
 *
 * Each side gives the channel the table of frames it accepts, one row per
 * type: the payload length range, whether a descriptor must come with it,
 * what its request id may be, a check of the rules of proto.h that lengths
 * cannot express, and the handler that takes it.  A frame that breaks its
 * row, has no row, a length over FRAME_MAX_PAYLOAD or unknown flags, or a
 * descriptor that arrives with the wrong frame closes the channel with
 * BERR_FRAME: the peer is broken and the caller decides what that means
 * (berthd exits, blobd exits and is restarted).  So a handler starts from
 * a frame already known to be well-formed.
 */
#ifndef BERTH_RPC_H
#define BERTH_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct event_base;
struct rpc_chan;

enum rpc_fd_rule { RPC_FD_NONE, RPC_FD_REQUIRED, RPC_FD_OPTIONAL };
/* RPC_ID_REQUEST: not 0, which is for frames that get no reply. */
enum rpc_id_rule { RPC_ID_ANY, RPC_ID_REQUEST, RPC_ID_ZERO };

/* fd is -1 or a descriptor the callback now owns. */
typedef void (*rpc_msg_cb)(struct rpc_chan *, const struct frame_hdr *,
    const uint8_t *payload, int fd, void *arg);

struct rpc_rule {
	uint32_t	 type;
	uint32_t	 min_len;
	uint32_t	 max_len;
	enum rpc_fd_rule fd;
	enum rpc_id_rule id;
	/* NULL, or 0 when the payload keeps the rules of its type, -1 when
	 * it breaks them (a size field that disagrees with the length). */
	int		(*check)(const struct frame_hdr *, const uint8_t *);
	/* Takes the frame unless rpc_new() was given a msg_cb. */
	rpc_msg_cb	 handler;
};

/* Decodes the header at buf (n >= FRAME_HDR_LEN); 0 or BERR_FRAME when
 * the length is over the maximum or unknown flags are set. */
int	frame_decode_hdr(const void *buf, size_t n, struct frame_hdr *);
/* Checks a decoded header against the table (type, length, descriptor,
 * id; not the row's check, which needs the payload); 0 or BERR_FRAME. */
int	frame_check(const struct rpc_rule *, size_t nrules,
	    const struct frame_hdr *, int has_fd);

/* err: 0 when the peer closed, BERR_FRAME or BERR_IO otherwise.  The
 * channel is dead but still allocated: the callback may rpc_free() it. */
typedef void (*rpc_close_cb)(struct rpc_chan *, int err, void *arg);

/*
 * Takes ownership of sock (made non-blocking, closed by rpc_free).  Every
 * accepted frame goes to msg_cb when it is not NULL (berthd's tables, and
 * tests that check a real table without running its handlers), else to
 * its row's handler, which every row must then have.
 */
struct rpc_chan *rpc_new(struct event_base *, int sock,
	    const struct rpc_rule *rules, size_t nrules, rpc_msg_cb,
	    rpc_close_cb, void *arg);
void	rpc_free(struct rpc_chan *);

/*
 * Queues a frame whose payload is the iovcnt pieces of iov, in order.  fd
 * is -1 or a descriptor that the channel owns from now on (closed once
 * sent, or on failure).  0, or BERR_FRAME for an oversized payload,
 * BERR_IO when the channel is dead.
 */
struct iovec;
int	rpc_sendv(struct rpc_chan *, uint32_t type, uint32_t id,
	    const struct iovec *, int iovcnt, int fd);
/* The same with one piece. */
int	rpc_send(struct rpc_chan *, uint32_t type, uint32_t id,
	    const void *payload, size_t len, int fd);
/* Bytes queued and not yet written (the unit tests watch backpressure). */
size_t	rpc_pending(const struct rpc_chan *);
/* Writes everything queued, blocking; for shutdown and start-up paths. */
int	rpc_flush(struct rpc_chan *);

/* 1 if fd is a connected UNIX stream socket (a worker's channel). */
int	rpc_is_socket(int fd);
/* A worker run by hand: waits for one connection on a UNIX socket at
 * path and returns it, or -1 (logged). */
int	rpc_debug_accept(const char *path);

#endif
