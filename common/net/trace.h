/*
 * trace.h: W3C Trace Context (traceparent) ids for request tracing.
 *
 * "traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>". The
 * gateway takes a caller's valid traceparent (HTTP/1.1 header or gRPC
 * metadata, which is the same thing on the wire) or starts a new trace,
 * answers with its own span in the same trace, passes the trace id to the
 * workers (WorkerRequest.trace_id), and every log line about the request,
 * in each process, carries it as trace_id.
 */
#ifndef RECSYS_COMMON_TRACE_H
#define RECSYS_COMMON_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#define TRACE_ID_LEN 32
#define TRACE_SPAN_LEN 16

/* Parses a traceparent value: true with the trace id (lower-case hex, NUL
 * terminated) and flags; false for anything invalid (wrong version 0xff,
 * lengths, non-hex, all-zero ids), which callers replace with a new trace. */
bool trace_parse(const char *traceparent, char trace_id[TRACE_ID_LEN + 1], uint8_t *flags);
/* A random id of n hex digits (n even, at most 64, NUL terminated), never
 * all zero, from the generator *state (splitmix64; seeded from the system's
 * random source when *state is 0). One state per thread: not locked. */
void trace_random_hex(uint64_t *state, char *out, int n);
/* True for 32 lower-case hex digits, not all zero (a WorkerRequest.trace_id). */
bool trace_id_valid(const char *id);

#endif
